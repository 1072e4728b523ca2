#include "guest-drivers/pcimem/config_space.h"

#include "proto/guest_abi.h"

namespace faultline::guest {
namespace {

namespace abi = guest_abi;

constexpr int kSlots = 32;
constexpr int kFunctions = 8;
constexpr uint32_t kMultiFunction = 0x80;
constexpr uint32_t kBarAddressMask = 0xFFFFFFF0;

uint8_t BarOffset(uint8_t bar) { return kPciBar0Offset + 4 * bar; }

// True if `mask` (the read-back of all-ones, address bits only) describes a
// naturally aligned power-of-two size: ones from the top down to one bit.
bool IsContiguousMask(uint64_t mask) {
  const uint64_t size = ~mask + 1;
  return mask != 0 && (size & (size - 1)) == 0;
}

// Writes all-ones to the BAR dwords, reads the size mask, restores them.
uint64_t SizeMask(PciConfigAccess& config, uint8_t slot, uint8_t function,
                  uint8_t bar, bool is_64_bit) {
  const uint8_t low = BarOffset(bar);
  const uint32_t saved_low = config.Read32(slot, function, low);
  config.Write32(slot, function, low, 0xFFFFFFFF);
  uint64_t mask = config.Read32(slot, function, low) & kBarAddressMask;
  config.Write32(slot, function, low, saved_low);
  if (is_64_bit) {
    const uint8_t high = low + 4;
    const uint32_t saved_high = config.Read32(slot, function, high);
    config.Write32(slot, function, high, 0xFFFFFFFF);
    mask |= static_cast<uint64_t>(config.Read32(slot, function, high)) << 32;
    config.Write32(slot, function, high, saved_high);
  } else if (mask != 0) {
    mask |= 0xFFFFFFFF00000000ull;  // a 32-bit BAR's size in 64-bit terms
  }
  return mask;
}

bool ReadRegistersBar(PciConfigAccess& config, uint8_t slot, uint8_t function,
                      PciMemLocation* location, ErrorMessage* error) {
  const uint8_t bar = abi::kPciMemRegistersBar;
  const uint32_t value = config.Read32(slot, function, BarOffset(bar));
  if ((value & kPciBarIoSpace) != 0 || (value & 0x6) != 0) {
    error->Set("BAR%u is 0x%08x, expected a 32-bit memory BAR", bar, value);
    return false;
  }
  const uint64_t mask = SizeMask(config, slot, function, bar, false);
  if (!IsContiguousMask(mask)) {
    error->Set("BAR%u has size mask 0x%llx: zero or not a power of two", bar,
               static_cast<unsigned long long>(mask));
    return false;
  }
  location->registers_base = value & kBarAddressMask;
  location->registers_bytes = ~mask + 1;
  return true;
}

bool ReadWindowBar(PciConfigAccess& config, uint8_t slot, uint8_t function,
                   PciMemLocation* location, ErrorMessage* error) {
  const uint8_t bar = abi::kPciMemWindowBar;
  const uint32_t low = config.Read32(slot, function, BarOffset(bar));
  if ((low & kPciBarIoSpace) != 0 || (low & 0x6) != kPciBarType64 ||
      (low & kPciBarPrefetchable) == 0) {
    error->Set("BAR%u is 0x%08x, expected a 64-bit prefetchable memory BAR",
               bar, low);
    return false;
  }
  const uint32_t high = config.Read32(slot, function, BarOffset(bar + 1));
  const uint64_t mask = SizeMask(config, slot, function, bar, true);
  if (!IsContiguousMask(mask)) {
    error->Set("BAR%u/%u has size mask 0x%llx: zero or not a power of two", bar,
               bar + 1, static_cast<unsigned long long>(mask));
    return false;
  }
  location->window_base =
      (static_cast<uint64_t>(high) << 32) | (low & kBarAddressMask);
  location->window_bytes = ~mask + 1;
  return true;
}

// The BARs must be assigned, aligned to their size, and reachable through
// the identity map the VMM set up.
bool CheckPlacement(const char* what, uint64_t base, uint64_t bytes,
                    ErrorMessage* error) {
  if (base == 0 || base % bytes != 0 || base > abi::kIdentityMapBytes ||
      bytes > abi::kIdentityMapBytes - base) {
    error->Set(
        "%s at 0x%llx (0x%llx bytes) is unassigned, misaligned or "
        "outside the identity map",
        what, static_cast<unsigned long long>(base),
        static_cast<unsigned long long>(bytes));
    return false;
  }
  return true;
}

bool InspectDevice(PciConfigAccess& config, uint8_t slot, uint8_t function,
                   PciMemLocation* location, ErrorMessage* error) {
  const uint32_t header_type =
      (config.Read32(slot, function, kPciHeaderTypeOffset) >> 16) & 0x7F;
  if (header_type != 0) {
    error->Set(
        "PCI memory device at 00:%02x.%u has header type %u, "
        "expected 0",
        slot, function, header_type);
    return false;
  }
  location->slot = slot;
  location->function = function;
  // Decoding stays off while BARs hold all-ones during sizing.
  const uint32_t command = config.Read32(slot, function, kPciCommandOffset);
  const uint32_t command_off = command & 0xFFFF & ~kPciCommandMemorySpace;
  config.Write32(slot, function, kPciCommandOffset, command_off);
  const bool bars_ok =
      ReadRegistersBar(config, slot, function, location, error) &&
      ReadWindowBar(config, slot, function, location, error);
  config.Write32(slot, function, kPciCommandOffset,
                 (command & 0xFFFF) | kPciCommandMemorySpace);
  if (!bars_ok) return false;
  if (location->registers_bytes < 0x20) {
    error->Set("register BAR is 0x%llx bytes, the registers need 0x20",
               static_cast<unsigned long long>(location->registers_bytes));
    return false;
  }
  return CheckPlacement("register BAR", location->registers_base,
                        location->registers_bytes, error) &&
         CheckPlacement("window BAR", location->window_base,
                        location->window_bytes, error);
}

}  // namespace

bool ProbePciMem(PciConfigAccess& config, PciMemLocation* location,
                 ErrorMessage* error) {
  int functions_seen = 0;
  for (int slot = 0; slot < kSlots; ++slot) {
    int functions = kFunctions;
    for (int function = 0; function < functions; ++function) {
      const uint32_t id = config.Read32(slot, function, kPciIdOffset);
      const uint16_t vendor = id & 0xFFFF;
      if (vendor == 0xFFFF || vendor == 0) {
        if (function == 0) break;  // no device in this slot
        continue;
      }
      ++functions_seen;
      if (function == 0) {
        const uint32_t header =
            config.Read32(slot, function, kPciHeaderTypeOffset) >> 16;
        if ((header & kMultiFunction) == 0) functions = 1;
      }
      if (vendor == abi::kPciMemVendorId &&
          (id >> 16) == abi::kPciMemDeviceId) {
        return InspectDevice(config, slot, function, location, error);
      }
    }
  }
  error->Set(
      "PCI memory device %04x:%04x not found on bus 0 (%d other "
      "functions present)",
      abi::kPciMemVendorId, abi::kPciMemDeviceId, functions_seen);
  return false;
}

}  // namespace faultline::guest
