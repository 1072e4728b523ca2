#include "vmm/fault/answer_handler.h"

#include <cstdio>
#include <optional>
#include <vector>

#include "absl/strings/str_format.h"
#include "proto/base/status_macros.h"
#include "proto/faultline/v1/enum_words.h"
#include "vmm/fault/fault_policy.h"

namespace faultline::vmm {
namespace {

void Log(const std::string& message) {
  std::fprintf(stderr, "vmm: %s\n", message.c_str());
}

AnswerInstaller::Target TargetOf(const PendingFault& fault) {
  return {fault.page.region_id, fault.page.offset, fault.page.host_page};
}

DevicePageEvent EventFor(const PendingFault& fault,
                         DevicePageEvent::Kind kind) {
  DevicePageEvent event;
  event.region_id = fault.page.region_id;
  event.offset = fault.page.offset;
  event.kind = kind;
  return event;
}

}  // namespace

absl::Status AnswerHandler::OnAttached(const v1::AttachResponse& response) {
  // The old session's slots are forgotten with its area.
  RETURN_IF_ERROR(
      slots_->UseArea(response.has_staging() ? &response.staging() : nullptr));
  installer_->UseGrants(response);
  return absl::OkStatus();
}

void AnswerHandler::OnStreamOpen(uint64_t generation) {
  slots_->StreamOpened(generation);
  if (options_.on_stream_open) options_.on_stream_open(generation);
}

void AnswerHandler::OnAnswer(const v1::FaultAnswer& answer) {
  const std::optional<PendingFault> fault = table_->Find(answer);
  if (!fault.has_value()) {
    stats_->Count(FaultStats::Counter::kStaleAnswers);
  } else if (!stop_->stopped()) {
    Apply(answer, *fault);
  }
  // Handled (installed, rejected, stale or retried): its slots go back.
  if (slots_->Release(answer)) writer_->FlushReleases(/*wait=*/false);
}

void AnswerHandler::Apply(const v1::FaultAnswer& answer,
                          const PendingFault& fault) {
  const std::optional<RegionRules> rules =
      installer_->Rules(fault.page.region_id);
  absl::StatusOr<AnswerAction> action = ValidateAnswer(
      answer, AskedFault{fault.id, fault.page.region_id, fault.page.offset},
      *rules, *slots_);
  if (!action.ok()) {
    const std::string defect(action.status().message());
    stats_->Count(FaultStats::Counter::kRejectedAnswers);
    Log(defect);
    Retry(fault, absl::ZeroDuration(),
          absl::StrFormat("rejected answer (%s)", defect));
    return;
  }
  absl::Status applied;
  switch (*action) {
    case AnswerAction::kInstallPage:
    case AnswerAction::kInstallZero: {
      absl::StatusOr<std::vector<uint64_t>> prefetched =
          installer_->InstallPages(answer, TargetOf(fault));
      if (prefetched.ok()) table_->ResolvePages(*prefetched);
      applied = prefetched.status();
      break;
    }
    case AnswerAction::kMapFrame:
      applied = installer_->MapFrame(TargetOf(fault), answer.frame().frame());
      if (applied.ok()) {
        DevicePageEvent event =
            EventFor(fault, DevicePageEvent::Kind::kAvailable);
        event.frame = answer.frame().frame();
        Tell(event);
      }
      break;
    case AnswerAction::kRetry: {
      const v1::RetryAnswer& retry = answer.retry();
      const v1::RetryReason reason = KnownRetryReason(retry.reason());
      if (Retry(fault, absl::Microseconds(retry.delay_hint_us()),
                DescribeRetry(retry))) {
        stats_->CountRetry(reason);
        if (rules->device) {
          DevicePageEvent event =
              EventFor(fault, DevicePageEvent::Kind::kPending);
          event.retry_reason = reason;
          Tell(event);
        }
      }
      return;
    }
    case AnswerAction::kFail:
      ApplyError(answer, fault);
      return;
  }
  if (!applied.ok()) {
    stop_->Stop(StopKind::kVmmError,
                absl::StrFormat("applying the answer for %s: %s",
                                DescribePage(fault), applied.message()),
                &fault);
    return;
  }
  Resolve(fault.id);
}

void AnswerHandler::ApplyError(const v1::FaultAnswer& answer,
                               const PendingFault& fault) {
  stats_->Count(FaultStats::Counter::kErrors);
  const v1::ErrorAnswer& error = answer.error();
  const v1::ErrorKind kind = KnownErrorKind(error.kind());
  if (installer_->Rules(fault.page.region_id)->device) {
    DevicePageEvent event = EventFor(fault, DevicePageEvent::Kind::kError);
    event.error_kind = kind;
    Tell(event);
  }
  const std::string what =
      absl::StrFormat("broker answered error (%s: %s) for %s",
                      v1::EnumWord(kind), error.message(), DescribePage(fault));
  if (!poisons_error_pages()) {
    stop_->Stop(StopKind::kBrokerErrorAnswer, what, &fault);
    return;
  }
  absl::StatusOr<bool> poisoned = installer_->Poison(TargetOf(fault));
  if (!poisoned.ok()) {
    stop_->Stop(StopKind::kVmmError,
                absl::StrFormat("poisoning after %s: %s", what,
                                poisoned.status().message()),
                &fault);
    return;
  }
  if (*poisoned) {
    stats_->RecordPoisonedPage(
        {fault.page.guest_physical, kind, error.message()});
    Log(what + ": page poisoned, the guest gets a machine check on access");
  }
  Resolve(fault.id);
}

void AnswerHandler::OnRevocation(const v1::FrameRevocation& revocation) {
  const std::optional<RegionRules> rules =
      installer_->Rules(revocation.region_id());
  if (absl::Status valid =
          ValidateRevocation(revocation, rules ? &*rules : nullptr);
      !valid.ok()) {
    stats_->Count(FaultStats::Counter::kRejectedAnswers);
    Log(std::string(valid.message()));
    return;
  }
  // On the stream thread: the reader thread reads the remap event.
  if (absl::Status replaced =
          installer_->Revoke(revocation.region_id(), revocation.offset());
      !replaced.ok()) {
    stop_->Stop(StopKind::kVmmError, replaced.ToString());
    return;
  }
  stats_->Count(FaultStats::Counter::kRevocations);
  v1::FaultStreamRequest done;
  done.mutable_revocation_done()->set_revocation_id(revocation.revocation_id());
  writer_->Send(done);
  DevicePageEvent revoked;
  revoked.region_id = revocation.region_id();
  revoked.offset = revocation.offset();
  revoked.kind = DevicePageEvent::Kind::kRevoked;
  Tell(revoked);
}

bool AnswerHandler::Retry(const PendingFault& fault, absl::Duration hint,
                          const std::string& reason) {
  const std::optional<FaultTable::RetryOutcome> outcome =
      table_->ScheduleRetry(fault.id, hint, reason);
  if (!outcome.has_value()) return false;
  if (!outcome->scheduled) {
    stop_->Stop(
        StopKind::kFaultDeadline,
        absl::StrFormat("%s for %s after %u attempts; last reason: %s",
                        outcome->why, DescribePage(outcome->fault),
                        outcome->fault.attempt, outcome->fault.last_reason),
        &fault);
    return false;
  }
  if (options_.on_retry_planned) options_.on_retry_planned();
  return true;
}

void AnswerHandler::Resolve(uint64_t fault_id) {
  if (std::optional<absl::Duration> latency = table_->Resolve(fault_id)) {
    stats_->RecordLatency(*latency);
  }
}

void AnswerHandler::Tell(const DevicePageEvent& event) {
  if (options_.on_device_page) options_.on_device_page(event);
}

}  // namespace faultline::vmm
