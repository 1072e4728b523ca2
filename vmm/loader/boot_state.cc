#include "vmm/loader/boot_state.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "proto/guest_abi.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

constexpr uint64_t kPresent = 1 << 0;
constexpr uint64_t kWritable = 1 << 1;
constexpr uint64_t kHugePage = 1 << 7;
constexpr uint64_t kTwoMiB = 2ull << 20;
constexpr uint64_t kOneGiB = 1ull << 30;

constexpr uint64_t kGdtNull = 0;
constexpr uint64_t kGdtCode64 = 0x00AF9A000000FFFFull;
constexpr uint64_t kGdtData = 0x00CF92000000FFFFull;
// A 64-bit available TSS at base 0, limit 0x67, in two GDT slots.
constexpr uint64_t kGdtTssLow = 0x0000890000000067ull;
constexpr uint64_t kGdtTssHigh = 0;
constexpr uint16_t kTssSelector = 0x18;
constexpr uint64_t kGdtEntries = 5;

constexpr uint64_t kCr0ProtectedMode = 1ull << 0;
constexpr uint64_t kCr0MonitorCoprocessor = 1ull << 1;
constexpr uint64_t kCr0ExtensionType = 1ull << 4;
constexpr uint64_t kCr0NumericError = 1ull << 5;
constexpr uint64_t kCr0WriteProtect = 1ull << 16;
constexpr uint64_t kCr0Paging = 1ull << 31;
constexpr uint64_t kCr4Pae = 1ull << 5;
constexpr uint64_t kCr4Osfxsr = 1ull << 9;
constexpr uint64_t kCr4Osxmmexcpt = 1ull << 10;
constexpr uint64_t kEferLongModeEnable = 1ull << 8;
constexpr uint64_t kEferLongModeActive = 1ull << 10;

void Put64(PageBytes& page, size_t index, uint64_t value) {
  std::memcpy(page.data() + index * 8, &value, 8);
}

kvm_segment Segment(uint16_t selector, uint8_t type, bool code) {
  kvm_segment segment = {};
  segment.base = 0;
  segment.limit = 0xFFFFFFFF;
  segment.selector = selector;
  segment.type = type;
  segment.present = 1;
  segment.dpl = 0;
  segment.db = code ? 0 : 1;
  segment.s = 1;
  segment.l = code ? 1 : 0;
  segment.g = 1;
  return segment;
}

}  // namespace

absl::StatusOr<std::map<uint64_t, PageBytes>> BuildBootPages(
    const BootParameters& parameters) {
  if (parameters.args.size() >= abi::kMaxArgsBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("guest args are %u bytes; at most %u fit",
                        parameters.args.size(), abi::kMaxArgsBytes - 1));
  }
  if (parameters.vcpu_count == 0 || parameters.vcpu_count > abi::kMaxVcpus) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%u vCPUs; the ABI allows 1 to %u",
                        parameters.vcpu_count, abi::kMaxVcpus));
  }
  std::map<uint64_t, PageBytes> pages;

  PageBytes& boot_page = pages[abi::kBootInfoAddress];
  boot_page.fill(0);
  abi::BootInfo info = {};
  info.magic = abi::kBootInfoMagic;
  info.version = abi::kBootInfoVersion;
  info.vcpu_count = parameters.vcpu_count;
  info.ram_bytes = parameters.ram_bytes;
  info.image_end = parameters.image_end;
  std::memcpy(info.args, parameters.args.data(), parameters.args.size());
  std::memcpy(boot_page.data(), &info, sizeof(info));

  PageBytes& gdt = pages[abi::kGdtAddress];
  gdt.fill(0);
  Put64(gdt, 0, kGdtNull);
  Put64(gdt, abi::kCodeSelector / 8, kGdtCode64);
  Put64(gdt, abi::kDataSelector / 8, kGdtData);
  Put64(gdt, kTssSelector / 8, kGdtTssLow);
  Put64(gdt, kTssSelector / 8 + 1, kGdtTssHigh);

  const uint64_t pml4_address = abi::kPageTableAddress;
  const uint64_t pdpt_address = pml4_address + abi::kPageBytes;
  const uint64_t directories = abi::kIdentityMapBytes / kOneGiB;
  PageBytes& pml4 = pages[pml4_address];
  pml4.fill(0);
  Put64(pml4, 0, pdpt_address | kPresent | kWritable);
  PageBytes& pdpt = pages[pdpt_address];
  pdpt.fill(0);
  for (uint64_t gib = 0; gib < directories; ++gib) {
    const uint64_t directory_address =
        pdpt_address + (gib + 1) * abi::kPageBytes;
    Put64(pdpt, gib, directory_address | kPresent | kWritable);
    PageBytes& directory = pages[directory_address];
    for (uint64_t entry = 0; entry < 512; ++entry) {
      const uint64_t physical = gib * kOneGiB + entry * kTwoMiB;
      Put64(directory, entry, physical | kPresent | kWritable | kHugePage);
    }
  }
  const uint64_t boot_area_end =
      pdpt_address + (directories + 1) * abi::kPageBytes;
  if (boot_area_end > abi::kPayloadMinAddress ||
      boot_area_end > parameters.ram_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the boot area ends at %#x, past RAM or the payload minimum",
        boot_area_end));
  }
  return pages;
}

kvm_regs BootRegisters(uint64_t entry, uint32_t vcpu_id) {
  kvm_regs regs = {};
  regs.rip = entry;
  regs.rflags = 0x2;
  regs.rsp = 0;
  regs.rdi = abi::kBootInfoAddress;
  regs.rsi = vcpu_id;
  return regs;
}

void SetLongModeSpecialRegisters(kvm_sregs* sregs) {
  sregs->cs = Segment(abi::kCodeSelector, 0xB, true);
  const kvm_segment data = Segment(abi::kDataSelector, 0x3, false);
  sregs->ds = data;
  sregs->es = data;
  sregs->ss = data;
  sregs->fs = data;
  sregs->gs = data;

  kvm_segment tss = {};
  tss.selector = kTssSelector;
  tss.limit = 0x67;
  tss.type = 0xB;  // busy 64-bit TSS, as the CPU wants it in TR
  tss.present = 1;
  sregs->tr = tss;
  kvm_segment ldt = {};
  ldt.type = 0x2;
  ldt.present = 1;
  ldt.unusable = 1;
  sregs->ldt = ldt;

  sregs->gdt.base = abi::kGdtAddress;
  sregs->gdt.limit = static_cast<uint16_t>(kGdtEntries * 8 - 1);
  sregs->idt.base = 0;
  sregs->idt.limit = 0;

  sregs->cr0 = kCr0ProtectedMode | kCr0MonitorCoprocessor | kCr0ExtensionType |
               kCr0NumericError | kCr0WriteProtect | kCr0Paging;
  sregs->cr3 = abi::kPageTableAddress;
  sregs->cr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt;
  sregs->efer = kEferLongModeEnable | kEferLongModeActive;
}

}  // namespace faultline::vmm
