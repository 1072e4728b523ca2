#include "broker/data/fault_service.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/data/fault_stream.h"
#include "proto/base/grpc_status.h"
#include "proto/base/quote.h"

namespace faultline::broker {

grpc::ServerUnaryReactor* FaultService::Attach(
    grpc::CallbackServerContext* context, const v1::AttachRequest* request,
    v1::AttachResponse* response) {
  absl::StatusOr<PeerIdentity> peer =
      authorizer_.AuthorizeAttach(*context, *request);
  if (!peer.ok()) return FinishUnary(context, peer.status());
  // Images open by the caller's deadline, and never later than
  // kImageOpenTimeout: a file system that does not answer holds this gRPC
  // thread no longer than that.
  const absl::Time deadline = std::min(absl::FromChrono(context->deadline()),
                                       absl::Now() + kImageOpenTimeout);
  absl::StatusOr<std::shared_ptr<Session>> session =
      registry_.Attach(*request, *peer, response, deadline);
  if (session.ok() && context->IsCancelled()) {
    // The caller gave up meanwhile: nobody will use or detach the session.
    EndSession((*session)->id()).IgnoreError();
    return FinishUnary(context,
                       absl::CancelledError("the attach was cancelled by its "
                                            "caller; nothing was kept"));
  }
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

int FaultService::ReapIdleSessions(absl::Duration grace) {
  const std::vector<std::shared_ptr<Session>> reaped =
      registry_.ReapIdle(grace);
  for (const auto& session : reaped) {
    injections_.ClearSession(session->id());
    std::fprintf(stderr,
                 "broker: session %s (VM %s) reaped: no stream and no call "
                 "for %s\n",
                 session->id().c_str(), Quoted(session->vm_name()).c_str(),
                 absl::FormatDuration(grace).c_str());
  }
  return static_cast<int>(reaped.size());
}

grpc::ServerUnaryReactor* FaultService::Detach(
    grpc::CallbackServerContext* context, const v1::DetachRequest* request,
    v1::DetachResponse* /*response*/) {
  absl::StatusOr<std::shared_ptr<Session>> session =
      authorizer_.AuthorizeSession(*context, request->session_id());
  if (!session.ok()) return FinishUnary(context, session.status());
  return FinishUnary(context, EndSession(request->session_id()));
}

grpc::ServerUnaryReactor* FaultService::ResolveFault(
    grpc::CallbackServerContext* context,
    const v1::ResolveFaultRequest* request, v1::FaultAnswer* response) {
  absl::StatusOr<std::shared_ptr<Session>> session =
      authorizer_.AuthorizeSession(*context, request->session_id());
  if (!session.ok()) return FinishUnary(context, session.status());
  if (!request->has_fault()) {
    return FinishUnary(
        context, processor_.Refuse(*std::move(session),
                                   absl::InvalidArgumentError(
                                       "ResolveFaultRequest has no fault")));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Answers always go inline here: staging belongs to the stream.
  absl::Status refused =
      processor_.Resolve(*std::move(session), request->fault(),
                         [reactor, response](v1::FaultAnswer answer) {
                           *response = std::move(answer);
                           reactor->Finish(grpc::Status::OK);
                         });
  if (!refused.ok()) reactor->Finish(ToGrpcStatus(refused));
  return reactor;
}

grpc::ServerBidiReactor<v1::FaultStreamRequest, v1::FaultStreamResponse>*
FaultService::Faults(grpc::CallbackServerContext* context) {
  return NewFaultStream(context, authorizer_, processor_);
}

}  // namespace faultline::broker
