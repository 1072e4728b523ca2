#include "vmm/loader/entry_state.h"

#include <algorithm>
#include <cstring>

namespace faultline::vmm {
namespace {

constexpr uint64_t kPresent = 1 << 0;
constexpr uint64_t kWritable = 1 << 1;
constexpr uint64_t kHugePage = 1 << 7;
constexpr uint64_t kTwoMiB = 2ull << 20;
constexpr uint64_t kOneGiB = 1ull << 30;
constexpr uint64_t kPageBytes = 4096;

constexpr uint64_t kGdtCode64 = 0x00AF9A000000FFFFull;
constexpr uint64_t kGdtCode32 = 0x00CF9A000000FFFFull;
constexpr uint64_t kGdtData = 0x00CF92000000FFFFull;
// A 64-bit available TSS at base 0, limit 0x67, in two GDT slots.
constexpr uint64_t kGdtTssLow = 0x0000890000000067ull;
constexpr uint64_t kGdtTssHigh = 0;

void Put64(PageBytes& page, size_t index, uint64_t value) {
  std::memcpy(page.data() + index * 8, &value, 8);
}

kvm_segment Segment(uint16_t selector, uint8_t type, bool code, CpuMode mode) {
  kvm_segment segment = {};
  segment.base = 0;
  segment.limit = 0xFFFFFFFF;
  segment.selector = selector;
  segment.type = type;
  segment.present = 1;
  segment.dpl = 0;
  const bool long_code = code && mode == CpuMode::kLongMode;
  segment.db = long_code ? 0 : 1;
  segment.s = 1;
  segment.l = long_code ? 1 : 0;
  segment.g = 1;
  return segment;
}

}  // namespace

PageBytes BuildGdtPage(CpuMode mode, const FlatSegments& segments) {
  PageBytes gdt;
  gdt.fill(0);
  Put64(gdt, segments.code_selector / 8,
        mode == CpuMode::kLongMode ? kGdtCode64 : kGdtCode32);
  Put64(gdt, segments.data_selector / 8, kGdtData);
  if (segments.tss_selector != 0) {
    Put64(gdt, segments.tss_selector / 8, kGdtTssLow);
    Put64(gdt, segments.tss_selector / 8 + 1, kGdtTssHigh);
  }
  return gdt;
}

uint16_t GdtLimit(const FlatSegments& segments) {
  const uint16_t top = std::max<uint16_t>(
      {segments.code_selector, segments.data_selector,
       static_cast<uint16_t>(
           segments.tss_selector == 0 ? 0 : segments.tss_selector + 8)});
  return static_cast<uint16_t>(top + 7);
}

std::map<uint64_t, PageBytes> IdentityMapPages(uint64_t pml4_address,
                                               uint64_t bytes) {
  std::map<uint64_t, PageBytes> pages;
  const uint64_t pdpt_address = pml4_address + kPageBytes;
  const uint64_t directories = bytes / kOneGiB;
  PageBytes& pml4 = pages[pml4_address];
  pml4.fill(0);
  Put64(pml4, 0, pdpt_address | kPresent | kWritable);
  PageBytes& pdpt = pages[pdpt_address];
  pdpt.fill(0);
  for (uint64_t gib = 0; gib < directories; ++gib) {
    const uint64_t directory_address = pdpt_address + (gib + 1) * kPageBytes;
    Put64(pdpt, gib, directory_address | kPresent | kWritable);
    PageBytes& directory = pages[directory_address];
    for (uint64_t entry = 0; entry < 512; ++entry) {
      const uint64_t physical = gib * kOneGiB + entry * kTwoMiB;
      Put64(directory, entry, physical | kPresent | kWritable | kHugePage);
    }
  }
  return pages;
}

kvm_regs EntryRegisters(const EntryState& state) {
  kvm_regs regs = {};
  regs.rip = state.rip;
  regs.rflags = 0x2;  // interrupts off
  regs.rsp = state.rsp;
  regs.rsi = state.rsi;
  regs.rdi = state.rdi;
  regs.rax = state.rax;
  regs.rbx = state.rbx;
  return regs;
}

void ApplyEntrySpecialRegisters(const EntryState& state, kvm_sregs* sregs) {
  const FlatSegments& segments = state.segments;
  sregs->cs = Segment(segments.code_selector, 0xB, true, state.mode);
  const kvm_segment data =
      Segment(segments.data_selector, 0x3, false, state.mode);
  sregs->ds = data;
  sregs->es = data;
  sregs->ss = data;
  sregs->fs = data;
  sregs->gs = data;
  if (segments.tss_selector != 0) {
    kvm_segment tss = {};
    tss.selector = segments.tss_selector;
    tss.limit = 0x67;
    tss.type = 0xB;  // busy 64-bit TSS, as the CPU wants it in TR
    tss.present = 1;
    sregs->tr = tss;
    kvm_segment ldt = {};
    ldt.type = 0x2;
    ldt.present = 1;
    ldt.unusable = 1;
    sregs->ldt = ldt;
  }
  sregs->gdt.base = state.gdt_address;
  sregs->gdt.limit = GdtLimit(segments);
  sregs->idt.base = 0;
  sregs->idt.limit = 0;
  sregs->cr0 = state.cr0;
  sregs->cr3 = state.cr3;
  sregs->cr4 = state.cr4;
  sregs->efer = state.efer;
}

}  // namespace faultline::vmm
