// The debug-exit port (guest_abi.h kDebugExitPort): a write ends the run and
// its value's low 8 bits become the VMM's exit status.
//
// Threading: safe from any vCPU thread; the callback runs on the writer's
// thread, at most once.
#ifndef FAULTLINE_VMM_DEVICES_DEBUG_EXIT_H_
#define FAULTLINE_VMM_DEVICES_DEBUG_EXIT_H_

#include <atomic>
#include <cstdint>
#include <functional>

#include "vmm/devices/io_handler.h"

namespace faultline::vmm {

class DebugExit : public IoHandler {
 public:
  static constexpr uint64_t kSize = 4;

  explicit DebugExit(std::function<void(uint8_t status)> on_exit)
      : on_exit_(std::move(on_exit)) {}

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

 private:
  const std::function<void(uint8_t)> on_exit_;
  std::atomic<bool> fired_{false};
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_DEBUG_EXIT_H_
