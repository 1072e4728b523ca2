#include "guest-drivers/pcimem/pcimem.h"

#include "guest-drivers/runtime/io.h"
#include "proto/guest_abi.h"

namespace faultline::guest {
namespace {

namespace abi = guest_abi;

constexpr uint32_t kConfigEnable = 0x80000000;

uint32_t ConfigAddress(uint8_t slot, uint8_t function, uint8_t offset) {
  return kConfigEnable | (static_cast<uint32_t>(slot & 0x1F) << 11) |
         (static_cast<uint32_t>(function & 0x7) << 8) | (offset & 0xFC);
}

}  // namespace

uint32_t PortConfigAccess::Read32(uint8_t slot, uint8_t function,
                                  uint8_t offset) {
  OutLong(abi::kPciConfigAddressPort, ConfigAddress(slot, function, offset));
  return InLong(abi::kPciConfigDataPort);
}

void PortConfigAccess::Write32(uint8_t slot, uint8_t function, uint8_t offset,
                               uint32_t value) {
  OutLong(abi::kPciConfigAddressPort, ConfigAddress(slot, function, offset));
  OutLong(abi::kPciConfigDataPort, value);
}

bool PciMem::Open(ErrorMessage* error) {
  PortConfigAccess config;
  PciMemLocation location;
  if (!ProbePciMem(config, &location, error)) return false;
  const uint64_t registers = location.registers_base;
  PciMemRegisterValues values;
  values.magic = MmioRead32(registers + abi::kPciMemRegMagic);
  values.version = MmioRead32(registers + abi::kPciMemRegVersion);
  values.frame_bytes = MmioRead32(registers + abi::kPciMemRegFrameBytes);
  values.frame_count = MmioRead64(registers + abi::kPciMemRegFrameCount);
  if (!CheckRegisterValues(values, location.window_bytes, error)) return false;
  location_ = location;
  frame_count_ = values.frame_count;
  return true;
}

}  // namespace faultline::guest
