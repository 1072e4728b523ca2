// The one narrow interface of every emulated device: reads and writes at an
// offset relative to the start of the device's mapping on a bus.
//
// Threading: IoHandlers may be called from multiple vCPU threads
// concurrently; implementations lock their own state.
#ifndef FAULTLINE_VMM_DEVICES_IO_HANDLER_H_
#define FAULTLINE_VMM_DEVICES_IO_HANDLER_H_

#include <cstdint>

#include "absl/types/span.h"

namespace faultline::vmm {

class IoHandler {
 public:
  virtual ~IoHandler() = default;
  // Fills `data` (1, 2, 4 or 8 bytes, little-endian). Never fails: a device
  // answers what hardware would for offsets it does not decode.
  virtual void Read(uint64_t offset, absl::Span<uint8_t> data) = 0;
  // Takes `data`; values a device does not accept are ignored.
  virtual void Write(uint64_t offset, absl::Span<const uint8_t> data) = 0;
};

// Little-endian helpers for handlers.
inline uint64_t LoadLittleEndian(absl::Span<const uint8_t> data) {
  uint64_t value = 0;
  for (size_t i = 0; i < data.size() && i < 8; ++i) {
    value |= static_cast<uint64_t>(data[i]) << (8 * i);
  }
  return value;
}

inline void StoreLittleEndian(uint64_t value, absl::Span<uint8_t> data) {
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = i < 8 ? static_cast<uint8_t>(value >> (8 * i)) : 0;
  }
}

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_IO_HANDLER_H_
