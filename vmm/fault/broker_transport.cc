#include "vmm/fault/broker_transport.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/base/grpc_status.h"
#include "proto/base/status_macros.h"

namespace faultline::vmm {
namespace {

constexpr char kSessionTokenKey[] = "faultline-session-token";
constexpr uint32_t kProtocolVersion = 1;
// Releases waiting past this many go out at once in their own message.
constexpr size_t kReleaseBatch = 64;
// Long enough for a loaded broker (or one in a TCG test host) to finish an
// attach, so a retry rarely races the attempt it replaces.
constexpr absl::Duration kAttachAttemptTimeout = absl::Seconds(10);

std::chrono::system_clock::time_point ToChrono(absl::Time time) {
  return absl::ToChronoTime(time);
}

// Codes by which a broker says it does not know the session any more.
bool SessionGone(absl::StatusCode code) {
  return code == absl::StatusCode::kNotFound ||
         code == absl::StatusCode::kUnauthenticated ||
         code == absl::StatusCode::kPermissionDenied ||
         code == absl::StatusCode::kFailedPrecondition ||
         code == absl::StatusCode::kInvalidArgument;
}

bool Retryable(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable ||
         code == absl::StatusCode::kDeadlineExceeded ||
         code == absl::StatusCode::kResourceExhausted;
}

}  // namespace

BrokerTransport::BrokerTransport(Options options, Listener* listener,
                                 std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      listener_(listener),
      channel_(std::move(channel)),
      stub_(v1::FaultBroker::NewStub(channel_)) {}

absl::StatusOr<std::unique_ptr<BrokerTransport>> BrokerTransport::Connect(
    Options options, Listener* listener) {
  grpc::ChannelArguments arguments;
  // Reconnect quickly after a broker restart instead of gRPC's 2 min cap.
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  arguments.SetInt(
      GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.max_backoff)));
  arguments.SetMaxReceiveMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(
      options.target, grpc::InsecureChannelCredentials(), arguments);
  const absl::Time deadline = absl::Now() + options.attach_deadline;
  std::unique_ptr<BrokerTransport> transport(
      new BrokerTransport(std::move(options), listener, std::move(channel)));
  RETURN_IF_ERROR(transport->AttachUntil(deadline));
  transport->stream_thread_ =
      std::thread([t = transport.get()] { t->StreamLoop(); });
  return transport;
}

BrokerTransport::~BrokerTransport() { Shutdown(); }

absl::StatusOr<BrokerTransport::Attached> BrokerTransport::AttachOnce(
    absl::Duration timeout) {
  v1::AttachRequest request;
  request.set_protocol_version(kProtocolVersion);
  request.set_vm_name(options_.vm_name);
  request.set_vm_token(options_.vm_token);
  request.set_vcpu_count(options_.vcpu_count);
  request.set_want_staging(options_.staging == Staging::kAuto &&
                           absl::StartsWith(options_.target, "unix:"));
  for (const v1::Region& region : options_.regions) {
    *request.add_regions() = region;
  }
  grpc::ClientContext context;
  context.set_deadline(ToChrono(absl::Now() + timeout));
  context.set_wait_for_ready(true);
  Attached attached;
  absl::Status status =
      ToAbslStatus(stub_->Attach(&context, request, &attached.response));
  if (!status.ok()) return status;
  if (attached.response.has_staging()) {
    absl::StatusOr<std::unique_ptr<StagingMapping>> staging =
        StagingMapping::Open(attached.response.staging());
    if (!staging.ok()) {
      // A session whose pages this VMM cannot read is no use: give it back.
      DetachBestEffort(attached.response.session_id(),
                       attached.response.session_token());
      return absl::FailedPreconditionError(absl::StrCat(
          "the broker's staging area cannot be mapped (",
          staging.status().message(),
          "); is the broker on another machine or mount namespace? "
          "--staging=off sends pages inline"));
    }
    attached.staging = *std::move(staging);
  }
  return attached;
}

absl::Status BrokerTransport::AttachUntil(absl::Time deadline) {
  absl::Status last = absl::DeadlineExceededError("no attach attempted");
  // An attempt that timed out may still have attached on a slow broker. The
  // broker gives a name whose session has no stream to the same owner, so
  // "already exists" after such an attempt is worth asking again.
  bool earlier_attempt_may_have_landed = false;
  absl::Duration backoff = options_.initial_backoff;
  while (absl::Now() < deadline) {
    const absl::Duration timeout =
        std::min(kAttachAttemptTimeout, deadline - absl::Now());
    absl::StatusOr<Attached> attached = AttachOnce(timeout);
    if (attached.ok()) {
      {
        absl::MutexLock lock(&mutex_);
        session_id_ = attached->response.session_id();
        session_token_ = attached->response.session_token();
        session_valid_ = true;
        staging_slot_count_ =
            attached->staging != nullptr ? attached->staging->slot_count() : 0;
        pending_releases_.clear();
      }
      listener_->OnAttached(attached->response, std::move(attached->staging));
      return absl::OkStatus();
    }
    last = attached.status();
    const bool raced_own_attempt =
        absl::IsAlreadyExists(last) && earlier_attempt_may_have_landed;
    if (!Retryable(last.code()) && !raced_own_attempt) {
      return absl::Status(
          last.code(),
          absl::StrCat("broker ", options_.target, " refused to attach VM '",
                       options_.vm_name, "': ", last.message()));
    }
    earlier_attempt_may_have_landed |= absl::IsDeadlineExceeded(last);
    if (!SleepUnlessShutdown(std::min(backoff, deadline - absl::Now()))) {
      return absl::CancelledError("shutting down");
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  return absl::UnavailableError(absl::StrCat("broker ", options_.target,
                                             " unreachable: ", last.message()));
}

void BrokerTransport::StreamLoop() {
  absl::Duration backoff = options_.initial_backoff;
  for (;;) {
    bool need_attach;
    {
      absl::MutexLock lock(&mutex_);
      if (shutdown_) return;
      need_attach = !session_valid_;
    }
    absl::Status ended;
    if (need_attach) {
      ended = AttachUntil(absl::Now() + absl::Seconds(2));
    }
    if (ended.ok()) {
      bool answered = false;
      ended = RunStream(&answered);
      // A stream that carried answers proves the session was good; the next
      // one starts without a long backoff.
      if (answered) backoff = options_.initial_backoff;
    }
    {
      absl::MutexLock lock(&mutex_);
      if (shutdown_) return;
      if (SessionGone(ended.code())) session_valid_ = false;
    }
    listener_->OnDisconnected(ended);
    if (!SleepUnlessShutdown(backoff)) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::Status BrokerTransport::RunStream(bool* answered) {
  grpc::ClientContext context;
  v1::FaultStreamRequest open;
  {
    absl::MutexLock lock(&mutex_);
    context.AddMetadata(kSessionTokenKey, session_token_);
    open.mutable_open()->set_session_id(session_id_);
  }
  std::unique_ptr<Stream> stream = stub_->Faults(&context);
  bool opened = stream->Write(open);
  uint64_t generation = 0;
  if (opened) {
    absl::MutexLock lock(&mutex_);
    if (shutdown_) {
      context.TryCancel();
    } else {
      context_ = &context;
      stream_ = stream.get();
      generation = ++generation_;
      // The broker frees every slot of the old stream when this one opens.
      pending_releases_.clear();
    }
  }
  if (generation != 0) {
    listener_->OnStreamOpen(generation);
    v1::FaultStreamResponse response;
    while (stream->Read(&response)) {
      *answered = true;
      switch (response.message_case()) {
        case v1::FaultStreamResponse::kAnswer:
          listener_->OnAnswer(response.answer());
          CollectReleases(response.answer());
          break;
        case v1::FaultStreamResponse::kRevocation:
          listener_->OnRevocation(response.revocation());
          break;
        case v1::FaultStreamResponse::MESSAGE_NOT_SET:
          break;
      }
    }
  }
  {
    absl::MutexLock lock(&mutex_);
    stream_ = nullptr;
    context_ = nullptr;
  }
  // Waits out a writer that still holds the old stream.
  { absl::MutexLock write_lock(&write_mutex_); }
  absl::Status status = ToAbslStatus(stream->Finish());
  if (status.ok()) {
    status = absl::UnavailableError("the broker ended the fault stream");
  }
  return status;
}

void BrokerTransport::CollectReleases(const v1::FaultAnswer& answer) {
  size_t pending;
  {
    absl::MutexLock lock(&mutex_);
    auto collect = [this](uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      // A slot outside the area was rejected with its answer; the broker
      // would refuse its release too.
      if (slot < staging_slot_count_) pending_releases_.push_back(slot);
    };
    if (answer.has_page() && answer.page().has_staging_slot()) {
      collect(answer.page().staging_slot());
    }
    for (const v1::ExtraPage& extra : answer.extra_pages()) {
      if (extra.has_staging_slot()) collect(extra.staging_slot());
    }
    pending = pending_releases_.size();
  }
  // The reading thread never waits for a writer: if one is busy, the slots
  // go with its next message or the engine's next flush.
  if (pending >= kReleaseBatch && write_mutex_.TryLock()) {
    SendLocked(v1::FaultStreamRequest());
    write_mutex_.Unlock();
  }
}

uint64_t BrokerTransport::Send(const v1::FaultStreamRequest& request) {
  absl::MutexLock write_lock(&write_mutex_);
  return SendLocked(request);
}

uint64_t BrokerTransport::SendLocked(const v1::FaultStreamRequest& request) {
  Stream* stream;
  uint64_t generation;
  v1::FaultStreamRequest with_releases;
  const v1::FaultStreamRequest* message = &request;
  {
    absl::MutexLock lock(&mutex_);
    if (stream_ == nullptr) return 0;
    stream = stream_;
    generation = generation_;
    // Taken under the lock that names the stream: releases only ever go
    // out on the stream whose answers named the slots.
    if (!pending_releases_.empty()) {
      with_releases = request;
      for (uint32_t slot : pending_releases_) {
        with_releases.add_released_staging_slots(slot);
      }
      pending_releases_.clear();
      message = &with_releases;
    } else if (request.message_case() ==
                   v1::FaultStreamRequest::MESSAGE_NOT_SET &&
               request.released_staging_slots_size() == 0) {
      return generation;  // a flush that found nothing left to send
    }
  }
  return stream->Write(*message) ? generation : 0;
}

void BrokerTransport::FlushReleases() {
  if (!has_pending_releases()) return;
  Send(v1::FaultStreamRequest());
}

bool BrokerTransport::has_pending_releases() const {
  absl::MutexLock lock(&mutex_);
  return !pending_releases_.empty();
}

bool BrokerTransport::SleepUnlessShutdown(absl::Duration delay) {
  absl::MutexLock lock(&mutex_);
  mutex_.AwaitWithTimeout(absl::Condition(&shutdown_), delay);
  return !shutdown_;
}

void BrokerTransport::Shutdown() {
  std::string session_id;
  std::string token;
  bool detach;
  {
    absl::MutexLock lock(&mutex_);
    if (shutdown_) return;
    shutdown_ = true;
    if (context_ != nullptr) context_->TryCancel();
    detach = session_valid_;
    session_id = session_id_;
    token = session_token_;
  }
  if (stream_thread_.joinable()) stream_thread_.join();
  if (detach) DetachBestEffort(session_id, token);
}

void BrokerTransport::DetachBestEffort(const std::string& session_id,
                                       const std::string& token) {
  grpc::ClientContext context;
  context.AddMetadata(kSessionTokenKey, token);
  context.set_deadline(ToChrono(absl::Now() + absl::Seconds(1)));
  v1::DetachRequest request;
  request.set_session_id(session_id);
  v1::DetachResponse response;
  stub_->Detach(&context, request, &response);  // the outcome changes nothing
}

}  // namespace faultline::vmm
