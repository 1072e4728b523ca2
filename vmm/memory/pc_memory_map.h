// The fixed parts of the physical address map that kernel guests see around
// guest RAM: ranges the e820 map (and multiboot's memory map) reports as
// reserved, because firmware tables or KVM's private pages live there. RAM
// itself comes from the MemoryLayout; these are subtracted from it. Payloads
// do not look at this (guest_abi.h is their map), but KVM's TSS pages are
// the same for every VM.
#ifndef FAULTLINE_VMM_MEMORY_PC_MEMORY_MAP_H_
#define FAULTLINE_VMM_MEMORY_PC_MEMORY_MAP_H_

#include <cstdint>

namespace faultline::vmm {

// KVM_SET_IDENTITY_MAP_ADDR (one page) and KVM_SET_TSS_ADDR (three pages)
// below 4 GiB, clear of RAM (at most 3 GiB) and of the BARs.
inline constexpr uint64_t kKvmIdentityMapAddress = 0xFFFBC000;
inline constexpr uint64_t kKvmTssAddress = 0xFFFBD000;
inline constexpr uint64_t kKvmPrivateBytes = 0x4000;

// The extended BIOS data area's usual place at the top of conventional
// memory; the legacy video memory and option ROMs; the BIOS area, where the
// VMM puts the ACPI tables (and where Linux scans for their RSDP).
inline constexpr uint64_t kEbdaAddress = 0x9FC00;
inline constexpr uint64_t kEbdaBytes = 0x400;
inline constexpr uint64_t kLegacyHoleAddress = 0xA0000;
inline constexpr uint64_t kLegacyHoleBytes = 0x40000;
inline constexpr uint64_t kBiosAreaAddress = 0xE0000;
inline constexpr uint64_t kBiosAreaBytes = 0x20000;

struct ReservedRange {
  uint64_t base;
  uint64_t size;
};

inline constexpr ReservedRange kPcReservedRanges[] = {
    {kEbdaAddress, kEbdaBytes},
    {kLegacyHoleAddress, kLegacyHoleBytes},
    {kBiosAreaAddress, kBiosAreaBytes},
    {kKvmIdentityMapAddress, kKvmPrivateBytes},
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_MEMORY_PC_MEMORY_MAP_H_
