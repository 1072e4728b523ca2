#include "vmm/fault/broker_transport.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/base/grpc_status.h"
#include "proto/base/status_macros.h"

namespace faultline::vmm {
namespace {

constexpr char kSessionTokenKey[] = "faultline-session-token";
constexpr uint32_t kProtocolVersion = 1;

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

absl::StatusOr<v1::AttachResponse> BrokerTransport::AttachOnce(
    absl::Duration timeout) {
  v1::AttachRequest request;
  request.set_protocol_version(kProtocolVersion);
  request.set_vm_name(options_.vm_name);
  request.set_vm_token(options_.vm_token);
  request.set_vcpu_count(options_.vcpu_count);
  for (const v1::Region& region : options_.regions) {
    *request.add_regions() = region;
  }
  grpc::ClientContext context;
  context.set_deadline(ToChrono(absl::Now() + timeout));
  context.set_wait_for_ready(true);
  v1::AttachResponse response;
  absl::Status status =
      ToAbslStatus(stub_->Attach(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::Status BrokerTransport::AttachUntil(absl::Time deadline) {
  absl::Status last = absl::DeadlineExceededError("no attach attempted");
  while (absl::Now() < deadline) {
    const absl::Duration timeout =
        std::min(absl::Seconds(2), deadline - absl::Now());
    absl::StatusOr<v1::AttachResponse> response = AttachOnce(timeout);
    if (response.ok()) {
      {
        absl::MutexLock lock(&mutex_);
        session_id_ = response->session_id();
        session_token_ = response->session_token();
        session_valid_ = true;
      }
      listener_->OnAttached(*response);
      return absl::OkStatus();
    }
    last = response.status();
    if (!Retryable(last.code())) {
      return absl::Status(
          last.code(),
          absl::StrCat("broker ", options_.target, " refused to attach VM '",
                       options_.vm_name, "': ", last.message()));
    }
    {
      absl::MutexLock lock(&mutex_);
      if (shutdown_) return absl::CancelledError("shutting down");
    }
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

uint64_t BrokerTransport::Send(const v1::FaultStreamRequest& request) {
  absl::MutexLock write_lock(&write_mutex_);
  Stream* stream;
  uint64_t generation;
  {
    absl::MutexLock lock(&mutex_);
    if (stream_ == nullptr) return 0;
    stream = stream_;
    generation = generation_;
  }
  return stream->Write(request) ? generation : 0;
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
  if (!detach) return;
  grpc::ClientContext context;
  context.AddMetadata(kSessionTokenKey, token);
  context.set_deadline(ToChrono(absl::Now() + absl::Seconds(1)));
  v1::DetachRequest request;
  request.set_session_id(session_id);
  v1::DetachResponse response;
  stub_->Detach(&context, request, &response);  // best effort at exit
}

}  // namespace faultline::vmm
