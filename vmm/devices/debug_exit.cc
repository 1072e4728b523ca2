#include "vmm/devices/debug_exit.h"

#include "proto/pc_machine.h"

namespace faultline::vmm {

void DebugExit::Read(uint64_t, absl::Span<uint8_t> data) {
  StoreLittleEndian(~uint64_t{0}, data);
}

void DebugExit::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  // Only a write at the port itself counts; stray writes to the next bytes
  // of the range are ignored.
  if (offset != 0) return;
  const uint64_t value = LoadLittleEndian(data);
  switch (mode_) {
    case DebugExitMode::kStatusLatch:
      latched_ = static_cast<int>(value & 0xFF);
      return;
    case DebugExitMode::kQemuIsaDebugExit:
      if (fired_.exchange(true)) return;
      on_exit_(static_cast<uint8_t>(
          pc_machine::QemuDebugExitStatus(static_cast<uint32_t>(value))));
      return;
    case DebugExitMode::kPayload:
      if (fired_.exchange(true)) return;
      on_exit_(static_cast<uint8_t>(value & 0xFF));
      return;
  }
}

std::optional<uint8_t> DebugExit::latched_status() const {
  const int latched = latched_.load();
  if (latched < 0) return std::nullopt;
  return static_cast<uint8_t>(latched);
}

}  // namespace faultline::vmm
