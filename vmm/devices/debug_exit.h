// Port 0xF4, whose meaning depends on the boot format (pc_machine.h):
//   - kPayload (guest_abi.h kDebugExitPort): a write ends the run and its
//     value's low 8 bits become the VMM's exit status;
//   - kQemuIsaDebugExit (multiboot kernels): QEMU's isa-debug-exit, a write
//     of v ends the run with status (v << 1) | 1;
//   - kStatusLatch (Linux): a write records its low 8 bits as the status the
//     run ends with when the guest reboots or powers off; nothing ends here.
//
// Threading: safe from any vCPU thread; the callback runs on the writer's
// thread, at most once.
#ifndef FAULTLINE_VMM_DEVICES_DEBUG_EXIT_H_
#define FAULTLINE_VMM_DEVICES_DEBUG_EXIT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>

#include "vmm/devices/io_handler.h"

namespace faultline::vmm {

enum class DebugExitMode { kPayload, kQemuIsaDebugExit, kStatusLatch };

class DebugExit : public IoHandler {
 public:
  static constexpr uint64_t kSize = 4;

  explicit DebugExit(std::function<void(uint8_t status)> on_exit,
                     DebugExitMode mode = DebugExitMode::kPayload)
      : on_exit_(std::move(on_exit)), mode_(mode) {}

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

  // kStatusLatch: the last status written, if any.
  std::optional<uint8_t> latched_status() const;

 private:
  const std::function<void(uint8_t)> on_exit_;
  const DebugExitMode mode_;
  std::atomic<bool> fired_{false};
  std::atomic<int> latched_{-1};
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_DEBUG_EXIT_H_
