#include "vmm/fault/stop_latch.h"

#include <cstdio>
#include <optional>

namespace faultline::vmm {

void StopLatch::Stop(StopKind kind, const std::string& message,
                     const PendingFault* fault) {
  if (stopped_.exchange(true, std::memory_order_acq_rel)) return;
  std::fprintf(stderr, "vmm: %s\n", message.c_str());
  StopReason reason(kind, 0, message);
  if (fault != nullptr) reason.page = fault->page.guest_physical;
  if (on_stop_) on_stop_(reason);
}

}  // namespace faultline::vmm
