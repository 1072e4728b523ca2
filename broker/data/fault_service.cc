#include "broker/data/fault_service.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "broker/data/fault_stream.h"
#include "broker/net/peer_credentials.h"
#include "proto/base/grpc_status.h"

namespace faultline::broker {

absl::Status FaultService::CheckTcpToken(
    const v1::AttachRequest& request) const {
  auto it = vm_tokens_.find(request.vm_name());
  if (it == vm_tokens_.end()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "VM \"", absl::CEscape(request.vm_name()),
        "\" may not attach over TCP: the broker has no --vm_token for it"));
  }
  const std::string& expected = it->second;
  const std::string& given = request.vm_token();
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size() && i < given.size(); ++i) {
    difference |= static_cast<unsigned char>(expected[i] ^ given[i]);
  }
  if (difference != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "wrong vm_token for VM \"", absl::CEscape(request.vm_name()), "\""));
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* FaultService::Attach(
    grpc::CallbackServerContext* context, const v1::AttachRequest* request,
    v1::AttachResponse* response) {
  PeerIdentity peer = peers_.Lookup(context->peer());
  if (peer.transport != PeerIdentity::Transport::kUnix) {
    if (absl::Status status = CheckTcpToken(*request); !status.ok()) {
      return FinishUnary(context, status);
    }
  }
  absl::StatusOr<std::shared_ptr<Session>> session =
      registry_.Attach(*request, peer, response);
  return FinishUnary(context, session.status());
}

absl::Status FaultService::EndSession(const std::string& session_id) {
  std::shared_ptr<Session> session = registry_.Find(session_id);
  absl::Status status = registry_.Detach(session_id);
  if (!status.ok()) return status;
  injections_.ClearSession(session_id);
  if (auto stream = session->stream()) {
    stream->Close(absl::CancelledError(
        absl::StrCat("session ", session_id, " was detached")));
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* FaultService::Detach(
    grpc::CallbackServerContext* context, const v1::DetachRequest* request,
    v1::DetachResponse* /*response*/) {
  absl::StatusOr<std::shared_ptr<Session>> session =
      AuthorizeSession(*context, registry_, peers_, request->session_id());
  if (!session.ok()) return FinishUnary(context, session.status());
  return FinishUnary(context, EndSession(request->session_id()));
}

grpc::ServerUnaryReactor* FaultService::ResolveFault(
    grpc::CallbackServerContext* context,
    const v1::ResolveFaultRequest* request, v1::FaultAnswer* response) {
  absl::StatusOr<std::shared_ptr<Session>> session =
      AuthorizeSession(*context, registry_, peers_, request->session_id());
  if (!session.ok()) return FinishUnary(context, session.status());
  if (!request->has_fault()) {
    return FinishUnary(context, absl::InvalidArgumentError(
                                    "ResolveFaultRequest has no fault"));
  }
  if (absl::Status target =
          FaultProcessor::CheckTarget(**session, request->fault());
      !target.ok()) {
    return FinishUnary(context, target);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  processor_.Process(*std::move(session), request->fault(),
                     [reactor, response](v1::FaultAnswer answer) {
                       *response = std::move(answer);
                       reactor->Finish(grpc::Status::OK);
                     });
  return reactor;
}

grpc::ServerBidiReactor<v1::FaultStreamRequest, v1::FaultStreamResponse>*
FaultService::Faults(grpc::CallbackServerContext* context) {
  return NewFaultStream(context, registry_, peers_, processor_);
}

}  // namespace faultline::broker
