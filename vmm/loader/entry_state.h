// How a vCPU enters the guest, as plain data: the CPU mode, registers,
// flat segments at given selectors, the GDT's address and the control
// registers; and the pages it needs (a GDT page, identity-mapping page
// tables). Payloads (guest_abi.h), Linux (the boot protocol's __BOOT_CS
// 0x10 and __BOOT_DS 0x18) and multiboot kernels (32-bit protected mode)
// each fill one in. Pure: nothing is installed here.
#ifndef FAULTLINE_VMM_LOADER_ENTRY_STATE_H_
#define FAULTLINE_VMM_LOADER_ENTRY_STATE_H_

#include <linux/kvm.h>

#include <array>
#include <cstdint>
#include <map>

namespace faultline::vmm {

using PageBytes = std::array<uint8_t, 4096>;

enum class CpuMode {
  kLongMode,       // 64-bit, paging on
  kProtectedMode,  // 32-bit, paging off
};

// Flat 4 GiB segments: code and data descriptors at these GDT selectors,
// and in long mode a 64-bit TSS (two slots) when tss_selector is not 0.
struct FlatSegments {
  uint16_t code_selector = 0x08;
  uint16_t data_selector = 0x10;
  uint16_t tss_selector = 0;
};

struct EntryState {
  CpuMode mode = CpuMode::kLongMode;
  uint64_t rip = 0;
  uint64_t rsp = 0;
  uint64_t rsi = 0;
  uint64_t rdi = 0;
  uint64_t rax = 0;
  uint64_t rbx = 0;
  FlatSegments segments;
  uint64_t gdt_address = 0;
  uint64_t cr0 = 0;
  uint64_t cr3 = 0;  // long mode: the PML4
  uint64_t cr4 = 0;
  uint64_t efer = 0;
};

// CR0/CR4/EFER values the loaders use.
inline constexpr uint64_t kCr0ProtectedMode = 1ull << 0;
inline constexpr uint64_t kCr0MonitorCoprocessor = 1ull << 1;
inline constexpr uint64_t kCr0ExtensionType = 1ull << 4;
inline constexpr uint64_t kCr0NumericError = 1ull << 5;
inline constexpr uint64_t kCr0WriteProtect = 1ull << 16;
inline constexpr uint64_t kCr0Paging = 1ull << 31;
inline constexpr uint64_t kCr4Pae = 1ull << 5;
inline constexpr uint64_t kCr4Osfxsr = 1ull << 9;
inline constexpr uint64_t kCr4Osxmmexcpt = 1ull << 10;
inline constexpr uint64_t kEferLongModeEnable = 1ull << 8;
inline constexpr uint64_t kEferLongModeActive = 1ull << 10;

// A GDT page with the null descriptor and `segments` for `mode` (64-bit or
// 32-bit code); its limit covers the highest selector.
PageBytes BuildGdtPage(CpuMode mode, const FlatSegments& segments);
uint16_t GdtLimit(const FlatSegments& segments);

// Page tables identity-mapping [0, bytes) with 2 MiB pages: the PML4 at
// `pml4_address`, the PDPT one page above, then one page directory per GiB.
// `bytes` is a multiple of 1 GiB, at most 512 GiB.
std::map<uint64_t, PageBytes> IdentityMapPages(uint64_t pml4_address,
                                               uint64_t bytes);

kvm_regs EntryRegisters(const EntryState& state);
// Turns KVM's initial special registers into `state`'s mode and segments.
void ApplyEntrySpecialRegisters(const EntryState& state, kvm_sregs* sregs);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_LOADER_ENTRY_STATE_H_
