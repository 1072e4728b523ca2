#include "vmm/loader/boot_state.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "proto/guest_abi.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

constexpr uint16_t kTssSelector = 0x18;
constexpr uint64_t kOneGiB = 1ull << 30;

constexpr FlatSegments kPayloadSegments = {abi::kCodeSelector,
                                           abi::kDataSelector, kTssSelector};

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

  pages[abi::kGdtAddress] = BuildGdtPage(CpuMode::kLongMode, kPayloadSegments);
  pages.merge(IdentityMapPages(abi::kPageTableAddress, abi::kIdentityMapBytes));
  const uint64_t directories = abi::kIdentityMapBytes / kOneGiB;
  const uint64_t pdpt_address = abi::kPageTableAddress + abi::kPageBytes;
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

EntryState PayloadEntryState(uint64_t entry, uint32_t vcpu_id) {
  EntryState state;
  state.mode = CpuMode::kLongMode;
  state.rip = entry;
  state.rsp = 0;
  state.rdi = abi::kBootInfoAddress;
  state.rsi = vcpu_id;
  state.segments = kPayloadSegments;
  state.gdt_address = abi::kGdtAddress;
  state.cr0 = kCr0ProtectedMode | kCr0MonitorCoprocessor | kCr0ExtensionType |
              kCr0NumericError | kCr0WriteProtect | kCr0Paging;
  state.cr3 = abi::kPageTableAddress;
  state.cr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt;
  state.efer = kEferLongModeEnable | kEferLongModeActive;
  return state;
}

kvm_regs BootRegisters(uint64_t entry, uint32_t vcpu_id) {
  return EntryRegisters(PayloadEntryState(entry, vcpu_id));
}

void SetLongModeSpecialRegisters(kvm_sregs* sregs) {
  ApplyEntrySpecialRegisters(PayloadEntryState(0, 0), sregs);
}

}  // namespace faultline::vmm
