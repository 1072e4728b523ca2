#include "vmm/vcpu/machine_check.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_format.h"
#include "proto/base/errno_status.h"
#include "proto/guest_abi.h"

namespace faultline::vmm {
namespace {

constexpr uint64_t kPageMask = ~uint64_t{0xFFF};
// MCi_MISC: the address is physical (mode 2) with 4 KiB granularity (LSB 12).
constexpr uint64_t kMiscPhysicalAddressPage = (2ull << 6) | 12;

// Per thread, so a SIGBUS is only ever taken for the thread it hit.
thread_local bool catching_memory_errors = false;
thread_local volatile uint64_t pending_memory_error = 0;  // 0: none

void OnSigbus(int, siginfo_t* info, void*) {
  const bool memory_error =
      info->si_code == BUS_MCEERR_AR || info->si_code == BUS_MCEERR_AO;
  if (memory_error && catching_memory_errors) {
    pending_memory_error =
        reinterpret_cast<uint64_t>(info->si_addr) & kPageMask;
    return;
  }
  // Advisory errors need nothing from a thread that runs no guest.
  if (info->si_code == BUS_MCEERR_AO) return;
  // A real bus error elsewhere: back to the default action, which the
  // faulting access, executed again, then takes.
  ::signal(SIGBUS, SIG_DFL);
}

}  // namespace

absl::StatusOr<uint64_t> MachineCheckCapabilities(uint64_t supported) {
  if ((supported & kMcgSoftwareRecoveryPresent) == 0) {
    return absl::UnimplementedError(absl::StrFormat(
        "KVM's MCG_CAP %#x lacks software error recovery (MCG_SER_P)",
        supported));
  }
  const uint64_t banks = std::min<uint64_t>(MachineCheckBanks(supported),
                                            kWantedMachineCheckBanks);
  if (banks == 0) {
    return absl::UnimplementedError("KVM emulates no machine-check banks");
  }
  return banks | (supported & (kMcgCtlPresent | kMcgSoftwareRecoveryPresent));
}

kvm_x86_mce ActionRequiredMemoryError(uint64_t guest_physical, uint8_t bank) {
  kvm_x86_mce mce;
  std::memset(&mce, 0, sizeof(mce));
  mce.status = kMciStatusValid | kMciStatusUncorrected | kMciStatusEnabled |
               kMciStatusMiscValid | kMciStatusAddressValid |
               kMciStatusSignaled | kMciStatusActionRequired | kMcacodDataLoad;
  mce.addr = guest_physical & kPageMask;
  mce.misc = kMiscPhysicalAddressPage;
  // No RIPV: the load cannot simply be restarted; EIPV: RIP points at it.
  mce.mcg_status = kMcgStatusInProgress | kMcgStatusErrorIpValid;
  mce.bank = bank;
  return mce;
}

absl::Status InstallMemoryErrorSignalHandler() {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_sigaction = OnSigbus;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: KVM_RUN must come back with EINTR to inject the check.
  action.sa_flags = SA_SIGINFO;
  if (::sigaction(SIGBUS, &action, nullptr) != 0) {
    return ErrnoError("sigaction SIGBUS");
  }
  return absl::OkStatus();
}

void CatchMemoryErrorsOnThisThread() { catching_memory_errors = true; }

std::optional<uint64_t> TakeMemoryError() {
  const uint64_t address = pending_memory_error;
  if (address == 0) return std::nullopt;
  pending_memory_error = 0;
  return address;
}

absl::StatusOr<kvm_x86_mce> MemoryErrorReporter::MachineCheckFor(
    uint64_t host_address, uint32_t vcpu_id) const {
  const HostPage page = memory_->FindHostPage(host_address);
  if (page.region == nullptr) {
    return absl::InternalError(absl::StrFormat(
        "vCPU %u: memory error at host address %#x, outside guest memory",
        vcpu_id, host_address));
  }
  return MachineCheckForPage(page, vcpu_id);
}

absl::StatusOr<kvm_x86_mce> MemoryErrorReporter::MachineCheckForGuestPhysical(
    uint64_t guest_physical, uint32_t vcpu_id) const {
  const MappedRegion* region = memory_->FindGuestRegion(guest_physical);
  if (region == nullptr) {
    return absl::InternalError(absl::StrFormat(
        "vCPU %u: memory error at guest-physical %#x, outside guest memory",
        vcpu_id, guest_physical));
  }
  const uint64_t offset = guest_physical - region->spec.guest_physical_base;
  return MachineCheckForPage(
      HostPage{region, offset - offset % guest_abi::kPageBytes}, vcpu_id);
}

absl::StatusOr<kvm_x86_mce> MemoryErrorReporter::MachineCheckForPage(
    const HostPage& page, uint32_t vcpu_id) const {
  const uint64_t guest_physical =
      page.region->spec.guest_physical_base + page.offset;
  if (!mcg_cap_.has_value()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "vCPU %u touched poisoned guest-physical page %#x (region '%s') and "
        "machine checks are not set up",
        vcpu_id, guest_physical, page.region->spec.name));
  }
  return ActionRequiredMemoryError(
      guest_physical, static_cast<uint8_t>(MachineCheckBanks(*mcg_cap_) - 1));
}

absl::Status MemoryErrorReporter::Inject(const absl::StatusOr<kvm_x86_mce>& mce,
                                         VcpuFd& vcpu, uint32_t vcpu_id) const {
  if (!mce.ok()) return mce.status();
  if (absl::Status injected = vcpu.InjectMachineCheck(*mce); !injected.ok()) {
    return absl::InternalError(absl::StrFormat(
        "vCPU %u: machine check for guest-physical page %#x: %s", vcpu_id,
        mce->addr, injected.message()));
  }
  absl::FPrintF(stderr,
                "vmm: vCPU %u: machine check injected for poisoned "
                "guest-physical page %#x (bank %u)\n",
                vcpu_id, mce->addr, mce->bank);
  return absl::OkStatus();
}

}  // namespace faultline::vmm
