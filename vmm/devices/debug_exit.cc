#include "vmm/devices/debug_exit.h"

namespace faultline::vmm {

void DebugExit::Read(uint64_t, absl::Span<uint8_t> data) {
  StoreLittleEndian(~uint64_t{0}, data);
}

void DebugExit::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  // Only a write at the port itself counts; stray writes to the next bytes
  // of the range are ignored.
  if (offset != 0 || fired_.exchange(true)) return;
  on_exit_(static_cast<uint8_t>(LoadLittleEndian(data) & 0xFF));
}

}  // namespace faultline::vmm
