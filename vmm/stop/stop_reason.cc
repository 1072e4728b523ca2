#include "vmm/stop/stop_reason.h"

#include "absl/strings/cord.h"

namespace faultline::vmm {
namespace {

// The payload under which a status carries its StopKind.
constexpr char kStopKindUrl[] = "type.faultline.dev/vmm.StopKind";

}  // namespace

absl::string_view StopKindName(StopKind kind) {
  switch (kind) {
    case StopKind::kGuestExit:
      return "guest_exit";
    case StopKind::kGuestPowerOff:
      return "power_off";
    case StopKind::kGuestReset:
      return "reset";
    case StopKind::kGuestHalted:
      return "halted";
    case StopKind::kGuestCrashed:
      return "crashed";
    case StopKind::kControlStop:
      return "stopped";
    case StopKind::kFaultDeadline:
      return "fault_deadline";
    case StopKind::kBrokerUnreachable:
      return "broker_unreachable";
    case StopKind::kBrokerErrorAnswer:
      return "broker_error_answer";
    case StopKind::kVmmError:
      return "vmm_error";
    case StopKind::kBadFlags:
      return "bad_flags";
    case StopKind::kKvmUnavailable:
      return "kvm_unavailable";
    case StopKind::kBadPayload:
      return "bad_payload";
    case StopKind::kBrokerRefused:
      return "broker_refused";
  }
  return "vmm_error";
}

bool HasGuestStatus(StopKind kind) {
  return kind == StopKind::kGuestExit || kind == StopKind::kGuestPowerOff ||
         kind == StopKind::kGuestReset;
}

absl::Status StopError(StopKind kind, absl::Status status) {
  if (status.ok()) return status;
  status.SetPayload(kStopKindUrl, absl::Cord(StopKindName(kind)));
  return status;
}

StopKind StopKindOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kStopKindUrl);
  if (payload.has_value()) {
    for (StopKind kind : kAllStopKinds) {
      if (*payload == StopKindName(kind)) return kind;
    }
  }
  return StopKind::kVmmError;
}

StopReason StopReasonOf(const absl::Status& status) {
  StopReason reason;
  reason.kind = StopKindOf(status);
  reason.message = status.ToString(absl::StatusToStringMode::kWithNoExtraData);
  return reason;
}

}  // namespace faultline::vmm
