#include "broker/data/fault_processor.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/devmem/frame_pool.h"
#include "broker/sources/source.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {

struct FaultProcessor::Pending {
  std::shared_ptr<Session> session;
  SessionRegion* region = nullptr;
  v1::FaultRequest fault;
  Deliver deliver;
  absl::Time received;
  bool admitted = false;
  // Counted by the session's throttle until answered.
  bool taken = false;
};

void FaultProcessor::Process(std::shared_ptr<Session> session,
                             const v1::FaultRequest& fault, Deliver deliver) {
  Start(std::move(session), fault, /*deliver_invalid=*/true,
        std::move(deliver))
      .IgnoreError();  // Always OK when invalid faults are delivered.
}

absl::Status FaultProcessor::Resolve(std::shared_ptr<Session> session,
                                     const v1::FaultRequest& fault,
                                     Deliver deliver) {
  return Start(std::move(session), fault, /*deliver_invalid=*/false,
               std::move(deliver));
}

absl::Status FaultProcessor::Refuse(std::shared_ptr<Session> session,
                                    absl::Status why) {
  Pending pending;
  pending.received = absl::Now();
  pending.session = std::move(session);
  v1::FaultAnswer answer;
  answer.mutable_error()->set_kind(v1::ERROR_KIND_DENIED);
  answer.mutable_error()->set_message(std::string(why.message()));
  Finish(pending, std::move(answer), /*invalid=*/true, /*deliver=*/false);
  return why;
}

absl::Status FaultProcessor::Start(std::shared_ptr<Session> session,
                                   const v1::FaultRequest& fault,
                                   bool deliver_invalid, Deliver deliver) {
  auto pending = std::make_shared<Pending>();
  pending->received = absl::Now();
  pending->session = std::move(session);
  pending->fault = fault;
  pending->deliver = std::move(deliver);
  pending->session->throttle().Took(fault.attempt() > 1, pending->received);
  pending->taken = true;
  v1::FaultAnswer answer;

  absl::StatusOr<SessionRegion*> target =
      pending->session->FaultTarget(fault.region_id(), fault.offset());
  if (!target.ok()) {
    auto* error = answer.mutable_error();
    error->set_kind(v1::ERROR_KIND_DENIED);
    error->set_message(std::string(target.status().message()));
    Finish(*pending, std::move(answer), /*invalid=*/true, deliver_invalid);
    return deliver_invalid ? absl::OkStatus() : target.status();
  }
  pending->region = *target;

  if (std::optional<v1::RetryAnswer> over =
          pending->session->quota().Admit(pending->received)) {
    *answer.mutable_retry() = *std::move(over);
    Finish(*pending, std::move(answer), false);
    return absl::OkStatus();
  }
  pending->admitted = true;

  std::optional<v1::InjectionRule> rule = injections_.Match(
      pending->session->id(), fault.region_id(), fault.offset());
  const uint64_t queue = pending->session->serial();
  if (rule.has_value()) {
    switch (rule->action_case()) {
      case v1::InjectionRule::kRetry:
        *answer.mutable_retry() = rule->retry();
        Finish(*pending, std::move(answer), false);
        return absl::OkStatus();
      case v1::InjectionRule::kError:
        *answer.mutable_error() = rule->error();
        Finish(*pending, std::move(answer), false);
        return absl::OkStatus();
      case v1::InjectionRule::kDelayUs:
        // On the scheduler's timer: no worker sleeps through the delay.
        scheduler_.SubmitAfter(
            queue, absl::Microseconds(rule->delay_us()),
            [this, pending](bool interrupted) { Run(pending, interrupted); });
        return absl::OkStatus();
      case v1::InjectionRule::ACTION_NOT_SET:
        break;
    }
  }
  auto run = [this, pending](bool interrupted) { Run(pending, interrupted); };
  // A source that only computes answers on this thread when the workers are
  // idle; one that may block (files, frame pools) never holds up gRPC's.
  const PageSource* source = pending->region->source.get();
  if (source != nullptr && !source->MayBlock()) {
    scheduler_.SubmitOrRunHere(queue, std::move(run));
  } else {
    scheduler_.Submit(queue, std::move(run));
  }
  return absl::OkStatus();
}

void FaultProcessor::Run(std::shared_ptr<Pending> pending, bool interrupted) {
  if (interrupted || pending->session->detached()) {
    v1::FaultAnswer answer;
    auto* retry = answer.mutable_retry();
    retry->set_reason(v1::RETRY_REASON_INTERRUPTED);
    retry->set_delay_hint_us(kInterruptedRetryDelayUs);
    retry->set_detail(interrupted ? "broker is shutting down"
                                  : "session was detached");
    Finish(*pending, std::move(answer), false);
    return;
  }
  const SingleFlight::Key key{pending->fault.region_id(),
                              pending->fault.offset()};
  SingleFlight& flights = pending->session->single_flight();
  const bool leader =
      flights.Join(key, [this, pending](const v1::FaultAnswer& leader_answer) {
        Finish(*pending, leader_answer, false);
      });
  if (!leader) return;
  v1::FaultAnswer answer = Compute(*pending->region, pending->fault);
  std::vector<SingleFlight::Waiter> waiters = flights.Complete(key);
  for (const SingleFlight::Waiter& waiter : waiters) waiter(answer);
  Finish(*pending, std::move(answer), false);
}

v1::FaultAnswer FaultProcessor::Compute(const SessionRegion& region,
                                        const v1::FaultRequest& fault) const {
  v1::FaultAnswer answer;
  if (region.pool != nullptr) {
    absl::StatusOr<uint64_t> frame =
        region.pool->FrameFor(fault.offset() / v1::wire::kPageBytes);
    if (frame.ok()) {
      answer.mutable_frame()->set_frame(*frame);
    } else {
      auto* error = answer.mutable_error();
      error->set_kind(absl::IsResourceExhausted(frame.status())
                          ? v1::ERROR_KIND_OUT_OF_MEMORY
                          : v1::ERROR_KIND_BUS_ERROR);
      error->set_message(std::string(frame.status().message()));
    }
    return answer;
  }
  // The fault and its prefetch in one call: a remote store reads them in
  // one round trip.
  const uint64_t pages_left =
      (region.region.size_bytes() - fault.offset()) / v1::wire::kPageBytes;
  const uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(
      pages_left,
      1 + std::min(fault.prefetch_hint(), v1::wire::kMaxPrefetchPages)));
  std::vector<v1::FaultAnswer> answers;
  answers.reserve(count);
  region.source->AnswerRun(fault.offset(), count, &answers);
  answer = std::move(answers[0]);
  if (!answer.has_page() && !answer.has_zero()) return answer;
  for (size_t i = 1; i < answers.size(); ++i) {
    v1::FaultAnswer& extra = answers[i];
    if (!extra.has_page() && !extra.has_zero()) break;
    v1::ExtraPage* page = answer.add_extra_pages();
    page->set_offset(fault.offset() + i * v1::wire::kPageBytes);
    if (extra.has_page()) {
      page->set_data(std::move(*extra.mutable_page()->mutable_data()));
    } else {
      page->mutable_zero();
    }
  }
  return answer;
}

void FaultProcessor::Finish(const Pending& pending, v1::FaultAnswer answer,
                            bool invalid, bool deliver) {
  answer.set_fault_id(pending.fault.fault_id());
  answer.set_region_id(pending.fault.region_id());
  answer.set_offset(pending.fault.offset());

  FaultOutcome outcome;
  outcome.answer = answer.answer_case();
  outcome.invalid = invalid;
  if (answer.has_retry()) outcome.retry_reason = answer.retry().reason();
  if (answer.has_error()) outcome.error_kind = answer.error().kind();
  if (answer.has_page()) outcome.bytes_served += answer.page().data().size();
  for (const v1::ExtraPage& extra : answer.extra_pages()) {
    outcome.bytes_served += extra.data().size();
  }
  outcome.extra_pages = answer.extra_pages_size();
  const absl::Time now = absl::Now();
  outcome.latency_us =
      static_cast<uint64_t>(absl::ToInt64Microseconds(now - pending.received));
  if (pending.region != nullptr) pending.region->stats.Record(outcome);
  pending.session->stats().Record(outcome);
  total_.Record(outcome);
  if (pending.admitted) pending.session->quota().Release();

  if (watchers_.has_watchers()) {
    v1::FaultEvent event;
    event.set_session_id(pending.session->id());
    event.set_vm_name(pending.session->vm_name());
    *event.mutable_fault() = pending.fault;
    event.set_answer_kind(AnswerKindName(outcome.answer));
    event.set_retry_reason(outcome.retry_reason);
    event.set_error_kind(outcome.error_kind);
    event.set_latency_us(outcome.latency_us);
    event.set_unix_us(absl::ToUnixMicros(now));
    watchers_.Publish(event);
  }
  if (deliver) pending.deliver(std::move(answer));
  // After the answer: a transport paused at the session's in-flight limit
  // reads on now.
  if (pending.taken) {
    for (ReadThrottle::Resume& resume :
         pending.session->throttle().Answered()) {
      resume();
    }
  }
}

bool FaultProcessor::MayTake(const std::shared_ptr<Session>& session,
                             const std::function<void()>& resume) {
  const absl::Time now = absl::Now();
  const ReadThrottle::Verdict verdict =
      session->throttle().MayTake(now, resume);
  if (verdict.wait == ReadThrottle::Wait::kNone) return true;
  const bool reask = verdict.wait == ReadThrottle::Wait::kReaskRate;
  session->stats().RecordReadPause(reask);
  total_.RecordReadPause(reask);
  if (verdict.wait != ReadThrottle::Wait::kInFlight) {
    // In the session's own fair queue: the resume takes its turn.
    scheduler_.SubmitAfter(session->serial(), verdict.not_before - now,
                           [resume](bool interrupted) {
                             if (!interrupted) resume();
                           });
  }
  return false;
}

}  // namespace faultline::broker
