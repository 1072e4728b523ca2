// The VMM's exit status. When the guest ends the run through the debug-exit
// port, the status is the low 8 bits of the value it wrote (payloads use 0
// pass, 1 fail, 2 bad parameters; multiboot kernels get QEMU's (v << 1) | 1).
// A Linux guest that powers off or reboots ends with the status it latched
// at port 0xF4, or 0 for a power off and kExitGuestReset for a reset without
// one. Outcomes decided by the VMM itself use the codes below, one per
// StopKind, chosen above the payloads' range; a guest that writes one of
// them is indistinguishable, so payloads should not.
#ifndef FAULTLINE_VMM_EXIT_CODES_H_
#define FAULTLINE_VMM_EXIT_CODES_H_

#include "vmm/stop/stop_reason.h"

namespace faultline::vmm {

inline constexpr int kExitBadFlags = 64;           // a flag is missing or bad
inline constexpr int kExitKvmUnavailable = 65;     // no usable /dev/kvm
inline constexpr int kExitBrokerUnreachable = 66;  // past the deadline
inline constexpr int kExitFaultDeadline = 67;      // a fault was not served
inline constexpr int kExitBrokerErrorAnswer = 68;  // broker answered error
inline constexpr int kExitStopped = 69;            // control socket or signal
inline constexpr int kExitGuestCrashed = 70;   // triple fault, entry failure
inline constexpr int kExitGuestHalted = 71;    // every vCPU halted, no exit
inline constexpr int kExitVmmError = 72;       // host-side failure
inline constexpr int kExitBadPayload = 73;     // the ELF payload was refused
inline constexpr int kExitBrokerRefused = 74;  // attach refused (name, token)
// A kernel guest reset the machine (reboot, triple fault, a panic with
// panic=-1) without reporting a status through port 0xF4 (pc_machine.h).
inline constexpr int kExitGuestReset = 75;

inline int ExitCodeFor(const StopReason& reason) {
  switch (reason.kind) {
    case StopKind::kGuestExit:
    case StopKind::kGuestPowerOff:
    case StopKind::kGuestReset:
      return reason.guest_status;
    case StopKind::kGuestHalted:
      return kExitGuestHalted;
    case StopKind::kGuestCrashed:
      return kExitGuestCrashed;
    case StopKind::kControlStop:
      return kExitStopped;
    case StopKind::kFaultDeadline:
      return kExitFaultDeadline;
    case StopKind::kBrokerUnreachable:
      return kExitBrokerUnreachable;
    case StopKind::kBrokerErrorAnswer:
      return kExitBrokerErrorAnswer;
    case StopKind::kVmmError:
      return kExitVmmError;
    case StopKind::kBadFlags:
      return kExitBadFlags;
    case StopKind::kKvmUnavailable:
      return kExitKvmUnavailable;
    case StopKind::kBadPayload:
      return kExitBadPayload;
    case StopKind::kBrokerRefused:
      return kExitBrokerRefused;
  }
  return kExitVmmError;
}

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_EXIT_CODES_H_
