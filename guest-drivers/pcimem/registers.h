// The PCI memory device's register block (BAR0, proto/guest_abi.h) and the
// per-frame signature payloads write for the host to check.
// Portable: built for the host in tests as well.
#ifndef FAULTLINE_GUEST_DRIVERS_PCIMEM_REGISTERS_H_
#define FAULTLINE_GUEST_DRIVERS_PCIMEM_REGISTERS_H_

#include <stdint.h>

#include "guest-drivers/runtime/format.h"
#include "proto/guest_abi.h"

namespace faultline::guest {

struct PciMemRegisterValues {
  uint32_t magic = 0;
  uint32_t version = 0;
  uint32_t frame_bytes = 0;
  uint64_t frame_count = 0;
};

// The register set this driver reads; later versions keep it unchanged.
inline constexpr uint32_t kPciMemVersion = 1;

// Checks magic, version (this one or later) and frame size, and that the
// frames fit the window.
bool CheckRegisterValues(const PciMemRegisterValues& values,
                         uint64_t window_bytes, ErrorMessage* error);

// The guest's mark on a device frame (guest_abi.h).
inline constexpr uint64_t kFrameSignatureWord = guest_abi::kPciMemSignatureWord;
constexpr uint64_t FrameSignature(uint64_t frame) {
  return guest_abi::PciMemFrameSignature(frame);
}

}  // namespace faultline::guest

#endif  // FAULTLINE_GUEST_DRIVERS_PCIMEM_REGISTERS_H_
