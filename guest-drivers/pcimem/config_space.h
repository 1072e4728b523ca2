// Finding and checking the PCI memory device in configuration space: scan bus
// 0, match the IDs in proto/guest_abi.h, check the header and both BARs and
// size them. Written against PciConfigAccess so the same code runs in the
// guest (ports 0xCF8/0xCFC) and in host tests (a made-up config space).
// Portable: built for the host in tests as well.
#ifndef FAULTLINE_GUEST_DRIVERS_PCIMEM_CONFIG_SPACE_H_
#define FAULTLINE_GUEST_DRIVERS_PCIMEM_CONFIG_SPACE_H_

#include <stdint.h>

#include "guest-drivers/runtime/format.h"

namespace faultline::guest {

// 32-bit configuration-space accesses on bus 0. `offset` is dword-aligned.
class PciConfigAccess {
 public:
  virtual uint32_t Read32(uint8_t slot, uint8_t function, uint8_t offset) = 0;
  virtual void Write32(uint8_t slot, uint8_t function, uint8_t offset,
                       uint32_t value) = 0;

 protected:
  ~PciConfigAccess() = default;
};

// Where the device sits and where its BARs point (guest-physical).
struct PciMemLocation {
  uint8_t slot = 0;
  uint8_t function = 0;
  uint64_t registers_base = 0;
  uint64_t registers_bytes = 0;
  uint64_t window_base = 0;
  uint64_t window_bytes = 0;
};

// Config-space offsets and bits used by the probe.
inline constexpr uint8_t kPciIdOffset = 0x00;
inline constexpr uint8_t kPciCommandOffset = 0x04;
inline constexpr uint8_t kPciHeaderTypeOffset =
    0x0C;  // header type: bits 23:16
inline constexpr uint8_t kPciBar0Offset = 0x10;
inline constexpr uint32_t kPciCommandMemorySpace = 0x2;
inline constexpr uint32_t kPciBarIoSpace = 0x1;
inline constexpr uint32_t kPciBarType64 = 0x4;  // bits 2:1 = 10
inline constexpr uint32_t kPciBarPrefetchable = 0x8;

// Scans bus 0 for the device, checks it and fills `location` (memory decode
// is left on). False with `error` set if the device is absent or malformed:
// wrong header type, a BAR of the wrong kind, zero or non-power-of-two size,
// unassigned, or outside the guest's identity map.
bool ProbePciMem(PciConfigAccess& config, PciMemLocation* location,
                 ErrorMessage* error);

}  // namespace faultline::guest

#endif  // FAULTLINE_GUEST_DRIVERS_PCIMEM_CONFIG_SPACE_H_
