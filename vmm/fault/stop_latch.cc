#include "vmm/fault/stop_latch.h"

#include <cstdio>
#include <optional>

namespace faultline::vmm {

void StopLatch::Stop(StopKind kind, const std::string& message,
                     const PendingFault* fault) {
  {
    absl::MutexLock lock(&mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  std::fprintf(stderr, "vmm: %s\n", message.c_str());
  StopReason reason(kind, 0, message);
  if (fault != nullptr) reason.page = fault->page.guest_physical;
  if (on_stop_) on_stop_(reason);
}

bool StopLatch::stopped() const {
  absl::MutexLock lock(&mutex_);
  return stopped_;
}

}  // namespace faultline::vmm
