// Why a VM stopped, or why it could not be built: one vocabulary for the
// fault engine, the vCPUs, the builder and main (exit_codes.h maps each kind
// to one exit status). A failure below main travels as an absl::Status that
// carries its kind (StopError); the kind of an untyped status is kVmmError.
//
// Threading: plain values and pure functions; safe from any thread.
#ifndef FAULTLINE_VMM_STOP_STOP_REASON_H_
#define FAULTLINE_VMM_STOP_STOP_REASON_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace faultline::vmm {

enum class StopKind {
  // The VM ran and stopped.
  kGuestExit,          // the guest wrote the debug-exit port
  kGuestPowerOff,      // a kernel guest powered off (guest_status: its status)
  kGuestReset,         // a kernel guest reset the machine (reboot)
  kGuestHalted,        // every vCPU halted without writing it
  kGuestCrashed,       // shutdown, triple fault, KVM could not run it
  kControlStop,        // `stop` on the control socket, or a signal
  kFaultDeadline,      // a fault could not be served in time
  kBrokerUnreachable,  // ... because the broker could not be reached
  kBrokerErrorAnswer,  // the broker answered error for a page
  kVmmError,           // a host-side failure
  // The VM could not be built.
  kBadFlags,        // a flag is missing or bad
  kKvmUnavailable,  // no usable /dev/kvm
  kBadPayload,      // the payload was refused
  kBrokerRefused,   // the broker refused the attach (name, token, regions)
};

inline constexpr StopKind kAllStopKinds[] = {
    StopKind::kGuestExit,         StopKind::kGuestPowerOff,
    StopKind::kGuestReset,        StopKind::kGuestHalted,
    StopKind::kGuestCrashed,      StopKind::kControlStop,
    StopKind::kFaultDeadline,     StopKind::kBrokerUnreachable,
    StopKind::kBrokerErrorAnswer, StopKind::kVmmError,
    StopKind::kBadFlags,          StopKind::kKvmUnavailable,
    StopKind::kBadPayload,        StopKind::kBrokerRefused,
};

struct StopReason {
  StopReason() = default;
  StopReason(StopKind kind, uint8_t guest_status, std::string message,
             std::optional<uint64_t> page = std::nullopt)
      : kind(kind),
        guest_status(guest_status),
        message(std::move(message)),
        page(page) {}

  StopKind kind = StopKind::kVmmError;
  // kGuestExit, kGuestPowerOff, kGuestReset: the VMM's exit status.
  uint8_t guest_status = 0;
  std::string message;
  // The guest-physical page a fault stop is about, when there is one.
  std::optional<uint64_t> page;
};

// "guest_exit", "power_off", "stopped", "broker_error_answer", ...: the
// kind in the stats JSON ("stop" and the guest report's "end").
absl::string_view StopKindName(StopKind kind);
// True for the kinds whose guest_status is the guest's own.
bool HasGuestStatus(StopKind kind);

// `status` (not OK) marked with `kind`; its code and message are kept.
absl::Status StopError(StopKind kind, absl::Status status);
// The kind StopError() put on `status`; kVmmError for any other error.
StopKind StopKindOf(const absl::Status& status);
// The stop reason of a failed build step: its kind and message.
StopReason StopReasonOf(const absl::Status& status);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_STOP_STOP_REASON_H_
