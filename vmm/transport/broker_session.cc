#include "vmm/transport/broker_session.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/base/grpc_status.h"
#include "proto/faultline/v1/wire.h"
#include "vmm/stop/stop_reason.h"

namespace faultline::vmm {
namespace {

namespace wire = ::faultline::v1::wire;

// Long enough for a loaded broker (or one in a TCG test host) to finish an
// attach, so a retry rarely races the attempt it replaces.
constexpr absl::Duration kAttachAttemptTimeout = absl::Seconds(10);
// The least time one connection attempt gets before gRPC gives up on it.
constexpr absl::Duration kConnectAttemptTimeout = absl::Seconds(5);

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target,
                                           absl::Duration max_backoff) {
  grpc::ChannelArguments arguments;
  // Reconnect quickly after a broker restart instead of gRPC's 2 min cap:
  // attempts start 50 ms apart at first. gRPC core also takes the *minimum*
  // reconnect backoff as the least time one attempt (connect and HTTP/2
  // handshake) is given; at 50 ms a loaded machine's handshakes were
  // abandoned ("timed out before receiving SETTINGS frame") for seconds.
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  arguments.SetInt(
      GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
      static_cast<int>(absl::ToInt64Milliseconds(kConnectAttemptTimeout)));
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                   static_cast<int>(absl::ToInt64Milliseconds(max_backoff)));
  arguments.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                   arguments);
}

bool Retryable(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable ||
         code == absl::StatusCode::kDeadlineExceeded ||
         code == absl::StatusCode::kResourceExhausted;
}

// What a refused attach means for the VM: the broker refused this VM (its
// regions, name or token), or something the VMM did not expect.
StopKind RefusalKind(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kUnauthenticated:
      return StopKind::kBrokerRefused;
    default:
      return StopKind::kVmmError;
  }
}

}  // namespace

BrokerSession::BrokerSession(Options options)
    : options_(std::move(options)),
      channel_(MakeChannel(options_.target, options_.max_backoff)),
      stub_(v1::FaultBroker::NewStub(channel_)) {}

bool BrokerSession::AwaitConnected(absl::Duration timeout, bool* already) {
  *already = channel_->GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_READY;
  return *already ||
         channel_->WaitForConnected(absl::ToChronoTime(absl::Now() + timeout));
}

bool BrokerSession::SessionGone(absl::StatusCode code) {
  return code == absl::StatusCode::kNotFound ||
         code == absl::StatusCode::kUnauthenticated ||
         code == absl::StatusCode::kPermissionDenied ||
         code == absl::StatusCode::kFailedPrecondition ||
         code == absl::StatusCode::kInvalidArgument;
}

absl::StatusOr<v1::AttachResponse> BrokerSession::AttachOnce(
    absl::Duration timeout) {
  v1::AttachRequest request;
  request.set_protocol_version(wire::kProtocolVersion);
  request.set_vm_name(options_.vm_name);
  request.set_vm_token(options_.vm_token);
  request.set_vcpu_count(options_.vcpu_count);
  request.set_want_staging(options_.want_staging);
  request.set_want_fault_ring(options_.want_staging &&
                              options_.want_fault_ring);
  for (const v1::Region& region : options_.regions) {
    *request.add_regions() = region;
  }
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  context.set_wait_for_ready(true);
  v1::AttachResponse response;
  absl::Status status =
      ToAbslStatus(stub_->Attach(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::Status BrokerSession::AttachUntil(absl::Time deadline,
                                        const AcceptGrants& accept,
                                        const Sleep& sleep) {
  absl::Status last = absl::DeadlineExceededError("no attach attempted");
  // An attempt that timed out may still have attached on a slow broker. The
  // broker gives a name whose session has no stream to the same owner, so
  // "already exists" after such an attempt is worth asking again.
  bool earlier_attempt_may_have_landed = false;
  absl::Duration backoff = options_.initial_backoff;
  while (absl::Now() < deadline) {
    const absl::Duration timeout =
        std::min(kAttachAttemptTimeout, deadline - absl::Now());
    absl::StatusOr<v1::AttachResponse> response = AttachOnce(timeout);
    if (response.ok()) {
      session_id_ = response->session_id();
      session_token_ = response->session_token();
      attached_ = true;
      absl::Status accepted = accept ? accept(*response) : absl::OkStatus();
      if (accepted.ok()) return absl::OkStatus();
      (void)Detach(absl::Seconds(1));  // give the unusable session back
      // Unavailable: the session died under us (its broker exited after
      // answering); a new attach may well succeed.
      if (!absl::IsUnavailable(accepted)) return accepted;
      response = accepted;
    }
    last = response.status();
    const bool raced_own_attempt =
        absl::IsAlreadyExists(last) && earlier_attempt_may_have_landed;
    if (!Retryable(last.code()) && !raced_own_attempt) {
      return StopError(
          RefusalKind(last.code()),
          absl::Status(last.code(),
                       absl::StrCat("broker ", options_.target,
                                    " refused to attach VM '", options_.vm_name,
                                    "': ", last.message())));
    }
    earlier_attempt_may_have_landed |= absl::IsDeadlineExceeded(last);
    if (!sleep(std::min(backoff, deadline - absl::Now()))) {
      return absl::CancelledError("shutting down");
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  return StopError(
      StopKind::kBrokerUnreachable,
      absl::UnavailableError(absl::StrCat("broker ", options_.target,
                                          " unreachable: ", last.message())));
}

absl::Status BrokerSession::Detach(absl::Duration timeout) {
  if (!attached_) return absl::OkStatus();
  attached_ = false;
  grpc::ClientContext context;
  context.AddMetadata(wire::kSessionTokenKey, session_token_);
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::DetachRequest request;
  request.set_session_id(session_id_);
  v1::DetachResponse response;
  return ToAbslStatus(stub_->Detach(&context, request, &response));
}

std::unique_ptr<BrokerSession::Stream> BrokerSession::OpenStream(
    grpc::ClientContext* context, bool* opened, uint64_t ring_generation) {
  context->AddMetadata(wire::kSessionTokenKey, session_token_);
  std::unique_ptr<Stream> stream = stub_->Faults(context);
  v1::FaultStreamRequest open;
  open.mutable_open()->set_session_id(session_id_);
  open.mutable_open()->set_fault_ring_generation(ring_generation);
  *opened = stream->Write(open);
  return stream;
}

absl::StatusOr<v1::FaultAnswer> BrokerSession::Resolve(
    const v1::FaultRequest& fault, absl::Time deadline) {
  v1::ResolveFaultRequest request;
  request.set_session_id(session_id_);
  *request.mutable_fault() = fault;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  context.AddMetadata(wire::kSessionTokenKey, session_token_);
  v1::FaultAnswer answer;
  absl::Status status =
      ToAbslStatus(stub_->ResolveFault(&context, request, &answer));
  if (absl::IsUnavailable(status)) {
    return StopError(StopKind::kBrokerUnreachable, status);
  }
  if (!status.ok()) return status;
  return answer;
}

}  // namespace faultline::vmm
