#include "broker/data/fault_stream.h"

#include <cstdio>
#include <deque>

#include "absl/base/thread_annotations.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "proto/base/grpc_status.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

// Refused slot releases logged per stream; later ones are only counted.
constexpr int kLoggedRefusals = 5;

using Reactor =
    grpc::ServerBidiReactor<v1::FaultStreamRequest, v1::FaultStreamResponse>;

// The writing half, shared with workers that deliver answers. It outlives
// the reactor; once Finish is called it never touches the reactor again.
class StreamSink : public FaultStreamSink {
 public:
  explicit StreamSink(Reactor* reactor) : reactor_(reactor) {}

  bool Send(v1::FaultStreamResponse response) override {
    {
      absl::MutexLock lock(&mu_);
      if (finish_started_ || broken_) return false;
      queue_.push_back(std::move(response));
    }
    Pump();
    return true;
  }

  // Ends the stream once queued messages are written.
  void Close(const absl::Status& status) override {
    {
      absl::MutexLock lock(&mu_);
      if (final_status_.ok()) final_status_ = status;
      closing_ = true;
    }
    Pump();
  }

  // Ends the stream now, dropping what is queued.
  void Fail(const absl::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (final_status_.ok()) final_status_ = status;
      broken_ = true;
    }
    Pump();
  }

  void FaultStarted() {
    absl::MutexLock lock(&mu_);
    ++faults_in_flight_;
  }
  void FaultAnswered() {
    {
      absl::MutexLock lock(&mu_);
      --faults_in_flight_;
    }
    Pump();
  }
  void ReadsDone() {
    {
      absl::MutexLock lock(&mu_);
      reads_done_ = true;
    }
    Pump();
  }
  // True when reading was paused for a full queue and may resume now.
  bool WriteDone(bool ok) {
    bool resume = false;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      queue_.pop_front();
      if (!ok) broken_ = true;
      if (read_paused_ && queue_.size() <= kMaxQueued / 2) {
        read_paused_ = false;
        resume = true;
      }
    }
    Pump();
    return resume;
  }

  // True when the caller may start the next read; it must then call
  // ReadStarted() once StartRead returned.
  bool BeginRead() {
    absl::MutexLock lock(&mu_);
    if (finish_started_ || broken_ || closing_) return false;
    // A client that sends faults but does not read answers stops being
    // read until it catches up, so the queue stays bounded.
    if (queue_.size() >= kMaxQueued) {
      read_paused_ = true;
      return false;
    }
    ++ops_starting_;
    return true;
  }
  void ReadStarted() {
    {
      absl::MutexLock lock(&mu_);
      --ops_starting_;
    }
    Pump();
  }

 private:
  void Pump() {
    enum { kNothing, kWrite, kFinish } action = kNothing;
    const v1::FaultStreamResponse* next = nullptr;
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      if (finish_started_ || writing_ || ops_starting_ > 0) return;
      if (broken_) {
        queue_.clear();
      }
      if (!queue_.empty()) {
        writing_ = true;
        next = &queue_.front();
        action = kWrite;
      } else if (broken_ || closing_ ||
                 (reads_done_ && faults_in_flight_ == 0)) {
        finish_started_ = true;
        status = ToGrpcStatus(final_status_);
        action = kFinish;
      }
    }
    // Messages in a deque keep their address while others are appended.
    if (action == kWrite) reactor_->StartWrite(next);
    if (action == kFinish) reactor_->Finish(status);
  }

  static constexpr size_t kMaxQueued = 8192;

  Reactor* const reactor_;
  absl::Mutex mu_;
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<v1::FaultStreamResponse> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_started_ ABSL_GUARDED_BY(mu_) = false;
  int ops_starting_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t faults_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status final_status_ ABSL_GUARDED_BY(mu_);
};

class FaultStream : public Reactor {
 public:
  FaultStream(grpc::CallbackServerContext* context, SessionRegistry& registry,
              const PeerTable& peers, FaultProcessor& processor)
      : context_(context),
        registry_(registry),
        peers_(peers),
        processor_(processor),
        sink_(std::make_shared<StreamSink>(this)) {
    ContinueReading();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      sink_->ReadsDone();
      return;
    }
    absl::Status status = Handle(request_);
    if (!status.ok()) {
      sink_->Fail(status);
      return;
    }
    ContinueReading();
  }

  void OnWriteDone(bool ok) override {
    if (sink_->WriteDone(ok)) ContinueReading();
  }

  void OnCancel() override { sink_->Fail(absl::CancelledError("cancelled")); }

  void OnDone() override {
    if (session_ != nullptr) session_->ClearStream(sink_.get());
    delete this;
  }

 private:
  void ContinueReading() {
    if (!sink_->BeginRead()) return;
    request_.Clear();
    StartRead(&request_);
    sink_->ReadStarted();
  }

  absl::Status Handle(const v1::FaultStreamRequest& request) {
    // Slots ride on any message: freed before its fault is worked on, or
    // after its StreamOpen.
    const bool open_before = session_ != nullptr;
    if (open_before) ReleaseSlots(request.released_staging_slots());
    absl::Status status = HandleMessage(request);
    if (status.ok() && !open_before) {
      ReleaseSlots(request.released_staging_slots());
    }
    return status;
  }

  absl::Status HandleMessage(const v1::FaultStreamRequest& request) {
    switch (request.message_case()) {
      case v1::FaultStreamRequest::kOpen:
        return Open(request.open());
      case v1::FaultStreamRequest::kFault:
        if (session_ == nullptr) {
          return absl::FailedPreconditionError(
              "the first message of a Faults stream must be StreamOpen");
        }
        StartFault(request.fault());
        return absl::OkStatus();
      case v1::FaultStreamRequest::kRevocationDone:
        if (session_ == nullptr) {
          return absl::FailedPreconditionError(
              "the first message of a Faults stream must be StreamOpen");
        }
        RevocationDone(request.revocation_done().revocation_id());
        return absl::OkStatus();
      case v1::FaultStreamRequest::MESSAGE_NOT_SET:
        // A release-only message (the VMM had no fault to carry it on).
        if (request.released_staging_slots_size() > 0) {
          if (session_ == nullptr) {
            return absl::FailedPreconditionError(
                "the first message of a Faults stream must be StreamOpen");
          }
          return absl::OkStatus();
        }
        return absl::InvalidArgumentError(
            "FaultStreamRequest has none of open, fault, revocation_done set");
    }
    return absl::InvalidArgumentError("unknown FaultStreamRequest message");
  }

  absl::Status Open(const v1::StreamOpen& open) {
    if (session_ != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("StreamOpen sent twice on one stream (session ",
                       session_->id(), ")"));
    }
    absl::StatusOr<std::shared_ptr<Session>> session =
        AuthorizeSession(*context_, registry_, peers_, open.session_id());
    if (!session.ok()) return session.status();
    session_ = *std::move(session);
    // The VMM forgot the slots of its previous stream: they are free again.
    if (session_->staging() != nullptr) {
      staging_epoch_ = session_->staging()->BeginEpoch();
    }
    session_->SetStream(sink_);
    return absl::OkStatus();
  }

  // A bad release (bad slot, not held, no staging area) is counted, logged
  // for the first few times and ignored; the stream carries on.
  void ReleaseSlots(const google::protobuf::RepeatedField<uint32_t>& slots) {
    if (slots.empty() || session_ == nullptr) return;
    StagingArea* staging = session_->staging();
    for (uint32_t slot : slots) {
      absl::Status released =
          staging != nullptr
              ? staging->Release(slot, staging_epoch_)
              : absl::FailedPreconditionError(absl::StrCat(
                    "staging slot ", slot,
                    " released but the session has no staging area"));
      if (released.ok()) continue;
      session_->staging_stats().AddRefusedRelease();
      registry_.staging_totals().AddRefusedRelease();
      if (++refused_releases_ <= kLoggedRefusals) {
        std::fprintf(stderr, "broker: session %s: release refused: %s\n",
                     session_->id().c_str(),
                     std::string(released.message()).c_str());
      }
    }
  }

  void StartFault(const v1::FaultRequest& fault) {
    sink_->FaultStarted();
    std::shared_ptr<StreamSink> sink = sink_;
    StagingArea* staging = session_->staging();
    StagingTotals* session_totals = &session_->staging_stats();
    StagingTotals* broker_totals = &registry_.staging_totals();
    const uint64_t epoch = staging_epoch_;
    // Staged per delivered answer, after single flight: every answer owns
    // its slots, so each is released exactly once. The session outlives
    // the callback (the processor holds it), and with it the area and its
    // counters.
    processor_.Process(session_, fault,
                       [sink, staging, session_totals, broker_totals,
                        epoch](v1::FaultAnswer answer) {
                         if (staging != nullptr) {
                           const StagedPages pages =
                               StageAnswer(*staging, epoch, &answer);
                           session_totals->Add(pages);
                           broker_totals->Add(pages);
                         }
                         v1::FaultStreamResponse response;
                         *response.mutable_answer() = std::move(answer);
                         sink->Send(std::move(response));
                         sink->FaultAnswered();
                       });
  }

  void RevocationDone(uint64_t revocation_id) {
    // Unknown ids are ignored: a VMM that reconnected may confirm twice.
    std::optional<Session::Revocation> revocation =
        session_->TakeRevocation(revocation_id);
    if (!revocation.has_value()) return;
    SessionRegion* region = session_->FindRegion(revocation->region_id);
    if (region != nullptr && region->pool != nullptr) {
      region->pool->ReleaseRevoked(revocation->frame);
    }
  }

  grpc::CallbackServerContext* const context_;
  SessionRegistry& registry_;
  const PeerTable& peers_;
  FaultProcessor& processor_;
  const std::shared_ptr<StreamSink> sink_;
  // Set by the first message; read only by reactions, which gRPC runs one
  // at a time for reads.
  std::shared_ptr<Session> session_;
  uint64_t staging_epoch_ = 0;
  int refused_releases_ = 0;
  v1::FaultStreamRequest request_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<Session>> AuthorizeSession(
    const grpc::CallbackServerContext& context, const SessionRegistry& registry,
    const PeerTable& peers, const std::string& session_id) {
  std::shared_ptr<Session> session = registry.Find(session_id);
  if (session == nullptr) {
    return absl::NotFoundError(absl::StrCat("no session \"",
                                            absl::CEscape(session_id),
                                            "\" (detached, or the "
                                            "broker restarted: attach again)"));
  }
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(v1::wire::kSessionTokenKey);
  if (it == metadata.end()) {
    return absl::UnauthenticatedError(
        absl::StrCat("session-scoped call without \"",
                     v1::wire::kSessionTokenKey, "\" metadata"));
  }
  if (!session->TokenMatches(
          absl::string_view(it->second.data(), it->second.size()))) {
    return absl::PermissionDeniedError(
        absl::StrCat("the \"", v1::wire::kSessionTokenKey,
                     "\" does not belong to session ", session_id));
  }
  const PeerIdentity caller = peers.Lookup(context.peer());
  if (!SameOwnerOrRoot(session->peer(), caller)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "session ", session_id, " belongs to ", session->peer().description,
        ", not to the caller (", caller.description, ")"));
  }
  return session;
}

Reactor* NewFaultStream(grpc::CallbackServerContext* context,
                        SessionRegistry& registry, const PeerTable& peers,
                        FaultProcessor& processor) {
  return new FaultStream(context, registry, peers, processor);
}

}  // namespace faultline::broker
