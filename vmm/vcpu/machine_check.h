// Machine checks for pages the broker answered *error* for. The fault engine
// poisons such a page (UFFDIO_POISON). When a vCPU touches it, KVM either
// sends the vCPU's thread SIGBUS (BUS_MCEERR_AR, the host address) and
// returns EINTR from KVM_RUN (6.12), or emulates the access and exits to
// MMIO at the guest-physical address (6.18 on Intel; see exit_handler.h).
// Either way the vCPU loop asks MemoryErrorReporter to inject an
// action-required memory error at the guest-physical page (KVM_X86_SET_MCE),
// which the guest sees as #MC with the address in its bank, as it would on
// hardware with an uncorrectable memory error.
//
// Threading: InstallMemoryErrorSignalHandler() once, before vCPU threads
// start. CatchMemoryErrorsOnThisThread() and TakeMemoryError() act on the
// calling thread only. MemoryErrorReporter is immutable and may be shared by
// every vCPU thread.
#ifndef FAULTLINE_VMM_VCPU_MACHINE_CHECK_H_
#define FAULTLINE_VMM_VCPU_MACHINE_CHECK_H_

#include <linux/kvm.h>

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "vmm/kvm/vcpu_fd.h"
#include "vmm/memory/guest_memory.h"

namespace faultline::vmm {

// Machine-check architecture bits (Intel SDM vol. 3B, chapter 16).
inline constexpr uint64_t kMcgCtlPresent = 1ull << 8;
inline constexpr uint64_t kMcgSoftwareRecoveryPresent = 1ull << 24;
inline constexpr uint64_t kMcgStatusErrorIpValid = 1ull << 1;
inline constexpr uint64_t kMcgStatusInProgress = 1ull << 2;
inline constexpr uint64_t kMciStatusValid = 1ull << 63;
inline constexpr uint64_t kMciStatusUncorrected = 1ull << 61;
inline constexpr uint64_t kMciStatusEnabled = 1ull << 60;
inline constexpr uint64_t kMciStatusMiscValid = 1ull << 59;
inline constexpr uint64_t kMciStatusAddressValid = 1ull << 58;
inline constexpr uint64_t kMciStatusSignaled = 1ull << 56;
inline constexpr uint64_t kMciStatusActionRequired = 1ull << 55;
// MCACOD of a memory read error found on a data load (SRAR).
inline constexpr uint64_t kMcacodDataLoad = 0x134;

// The banks the VMM asks for; the memory error goes to the last one.
inline constexpr uint32_t kWantedMachineCheckBanks = 10;

// MCG_CAP for KVM_X86_SETUP_MCE, from what KVM supports: up to
// kWantedMachineCheckBanks banks, MCG_CTL_P and MCG_SER_P. Without software
// error recovery (SER_P) a guest cannot tell an action-required error, so
// its absence is an error.
absl::StatusOr<uint64_t> MachineCheckCapabilities(uint64_t supported);

// Banks in an MCG_CAP value.
inline uint32_t MachineCheckBanks(uint64_t mcg_cap) { return mcg_cap & 0xFF; }

// An uncorrected, action-required data-load error on the 4 KiB page at
// `guest_physical`, recorded in `bank`.
kvm_x86_mce ActionRequiredMemoryError(uint64_t guest_physical, uint8_t bank);

// Installs the process's SIGBUS handler: on a thread that called
// CatchMemoryErrorsOnThisThread(), a memory-error SIGBUS is recorded for
// TakeMemoryError(); any other SIGBUS keeps its default action (the process
// dies with the right signal). Idempotent.
absl::Status InstallMemoryErrorSignalHandler();
void CatchMemoryErrorsOnThisThread();
// The page-aligned host address of the last memory error on this thread,
// cleared by the call.
std::optional<uint64_t> TakeMemoryError();

class MemoryErrorReporter {
 public:
  // `mcg_cap` as given to every vCPU's SetupMachineCheck(), or nullopt when
  // machine checks are not set up (then every report fails).
  MemoryErrorReporter(const GuestMemory* memory,
                      std::optional<uint64_t> mcg_cap)
      : memory_(memory), mcg_cap_(mcg_cap) {}

  // The machine check for the poisoned page at `host_address` (a SIGBUS),
  // or why there is none (FailedPrecondition: machine checks are off;
  // Internal: not guest memory), worded for the VM's stop message.
  absl::StatusOr<kvm_x86_mce> MachineCheckFor(uint64_t host_address,
                                              uint32_t vcpu_id) const;
  // The same for the page at `guest_physical` (an MMIO exit into guest
  // memory).
  absl::StatusOr<kvm_x86_mce> MachineCheckForGuestPhysical(
      uint64_t guest_physical, uint32_t vcpu_id) const;

  // `mce` injected into `vcpu` and logged, or why not.
  absl::Status Inject(const absl::StatusOr<kvm_x86_mce>& mce, VcpuFd& vcpu,
                      uint32_t vcpu_id) const;

 private:
  absl::StatusOr<kvm_x86_mce> MachineCheckForPage(const HostPage& page,
                                                  uint32_t vcpu_id) const;

  const GuestMemory* const memory_;
  const std::optional<uint64_t> mcg_cap_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_VCPU_MACHINE_CHECK_H_
