// The fault engine's one stop: the first reason is logged and reaches the
// callback (which stops the VM); later ones are dropped, and once stopped
// the engine asks and applies nothing more.
//
// Threading: every method may be called from any thread; the callback runs
// at most once, on the thread that stopped first, with no lock held.
#ifndef FAULTLINE_VMM_FAULT_STOP_LATCH_H_
#define FAULTLINE_VMM_FAULT_STOP_LATCH_H_

#include <atomic>
#include <functional>
#include <string>

#include "vmm/fault/fault_table.h"
#include "vmm/stop/stop_reason.h"

namespace faultline::vmm {

class StopLatch {
 public:
  using Callback = std::function<void(const StopReason&)>;

  explicit StopLatch(Callback on_stop) : on_stop_(std::move(on_stop)) {}

  StopLatch(const StopLatch&) = delete;
  StopLatch& operator=(const StopLatch&) = delete;

  // Stops for `kind`; `fault`, when given, names the page the stop is about.
  void Stop(StopKind kind, const std::string& message,
            const PendingFault* fault = nullptr);
  // Asked on every fault and answer: one atomic load.
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }

 private:
  const Callback on_stop_;
  std::atomic<bool> stopped_{false};
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_STOP_LATCH_H_
