#include "broker/admin/admin_service.h"

#include <unistd.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "broker/observe/prometheus_text.h"
#include "broker/admin/put_pages.h"
#include "broker/session/region_validation.h"
#include "proto/base/grpc_status.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

absl::Status UnknownSession(const std::string& session_id) {
  return absl::NotFoundError(
      absl::StrCat("no session \"", absl::CEscape(session_id), "\""));
}

// A streaming call refused before it starts.
template <typename Reactor>
class RefusedStream : public Reactor {
 public:
  explicit RefusedStream(const absl::Status& status) {
    this->Finish(ToGrpcStatus(status));
  }
  void OnDone() override { delete this; }
};

}  // namespace

absl::Status AdminService::AuthorizeAdmin(
    const grpc::CallbackServerContext& context) const {
  const PeerIdentity caller = peers_.Lookup(context.peer());
  if (caller.transport != PeerIdentity::Transport::kUnix) {
    return absl::OkStatus();
  }
  if (caller.has_credentials &&
      (caller.uid == 0 || caller.uid == ::geteuid())) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("admin calls on the Unix socket are for root and uid ",
                   ::geteuid(), "; the caller is ", caller.description));
}

grpc::ServerUnaryReactor* AdminService::ListSessions(
    grpc::CallbackServerContext* context,
    const v1::ListSessionsRequest* /*request*/,
    v1::ListSessionsResponse* response) {
  if (absl::Status allowed = AuthorizeAdmin(*context); !allowed.ok()) {
    return FinishUnary(context, allowed);
  }
  for (const auto& session : registry_.List()) {
    *response->add_sessions() = session->Info();
  }
  return FinishUnary(context, absl::OkStatus());
}

absl::Status AdminService::FillStats(const std::string& session_id,
                                     v1::GetStatsResponse* response) {
  std::vector<std::shared_ptr<Session>> sessions;
  if (session_id.empty()) {
    sessions = registry_.List();
  } else if (auto session = registry_.Find(session_id)) {
    sessions.push_back(std::move(session));
  } else {
    return UnknownSession(session_id);
  }
  for (const auto& session : sessions) {
    v1::SessionStats* stats = response->add_sessions();
    stats->set_session_id(session->id());
    stats->set_vm_name(session->vm_name());
    session->stats().ToProto(stats->mutable_counters());
    v1::StagingCounters* staging = stats->mutable_staging();
    session->staging_stats().ToProto(staging);
    if (const StagingArea* area = session->staging(); area != nullptr) {
      staging->set_slot_count(area->slot_count());
      staging->set_slots_held(area->slots_held());
    }
    for (const auto& [id, region] : session->regions()) {
      v1::RegionStats* region_stats = stats->add_regions();
      region_stats->set_region_id(id);
      region_stats->set_name(region->region.name());
      region->stats.ToProto(region_stats->mutable_counters());
    }
  }
  registry_.total().ToProto(response->mutable_total());
  registry_.staging_totals().ToProto(response->mutable_staging_total());
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* AdminService::GetStats(
    grpc::CallbackServerContext* context, const v1::GetStatsRequest* request,
    v1::GetStatsResponse* response) {
  if (absl::Status allowed = AuthorizeAdmin(*context); !allowed.ok()) {
    return FinishUnary(context, allowed);
  }
  return FinishUnary(context, FillStats(request->session_id(), response));
}

grpc::ServerWriteReactor<v1::FaultEvent>* AdminService::WatchFaults(
    grpc::CallbackServerContext* context,
    const v1::WatchFaultsRequest* request) {
  if (absl::Status allowed = AuthorizeAdmin(*context); !allowed.ok()) {
    return new RefusedStream<grpc::ServerWriteReactor<v1::FaultEvent>>(allowed);
  }
  // An unknown session filter simply sees no events: the session may
  // attach later.
  return NewWatchStream(
      watchers_, request->session_id(),
      [this](std::shared_ptr<WatchHandle> handle) {
        absl::MutexLock lock(&mu_);
        watches_[handle.get()] = std::move(handle);
      },
      [this](const WatchHandle* handle) {
        absl::MutexLock lock(&mu_);
        watches_.erase(handle);
      });
}

void AdminService::CloseWatchers() {
  std::vector<std::shared_ptr<WatchHandle>> handles;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, handle] : watches_) handles.push_back(handle);
  }
  for (const auto& handle : handles) handle->Close();
}

grpc::ServerReadReactor<v1::PutPagesRequest>* AdminService::PutPages(
    grpc::CallbackServerContext* context, v1::PutPagesResponse* response) {
  if (absl::Status allowed = AuthorizeAdmin(*context); !allowed.ok()) {
    return new RefusedStream<grpc::ServerReadReactor<v1::PutPagesRequest>>(
        allowed);
  }
  return NewPutPagesStream(stores_, response);
}

grpc::ServerUnaryReactor* AdminService::SetInjection(
    grpc::CallbackServerContext* context, const v1::InjectionRule* request,
    v1::SetInjectionResponse* response) {
  if (absl::Status allowed = AuthorizeAdmin(*context); !allowed.ok()) {
    return FinishUnary(context, allowed);
  }
  std::shared_ptr<Session> session = registry_.Find(request->session_id());
  if (session == nullptr) {
    return FinishUnary(context, UnknownSession(request->session_id()));
  }
  const SessionRegion* region = session->FindRegion(request->region_id());
  if (region == nullptr) {
    return FinishUnary(context, absl::InvalidArgumentError(absl::StrCat(
                                    "session ", session->id(),
                                    " has no region ", request->region_id())));
  }
  absl::StatusOr<uint64_t> rule_id = injections_.Add(*request);
  if (rule_id.ok()) response->set_rule_id(*rule_id);
  return FinishUnary(context, rule_id.status());
}

grpc::ServerUnaryReactor* AdminService::ClearInjection(
    grpc::CallbackServerContext* context,
    const v1::ClearInjectionRequest* request,
    v1::ClearInjectionResponse* response) {
  if (absl::Status allowed = AuthorizeAdmin(*context); !allowed.ok()) {
    return FinishUnary(context, allowed);
  }
  response->set_rules_cleared(injections_.Clear(request->rule_id()));
  if (request->rule_id() != 0 && response->rules_cleared() == 0) {
    return FinishUnary(context, absl::NotFoundError(absl::StrCat(
                                    "no injection rule ", request->rule_id())));
  }
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::ListPools(
    grpc::CallbackServerContext* context,
    const v1::ListPoolsRequest* /*request*/, v1::ListPoolsResponse* response) {
  if (absl::Status allowed = AuthorizeAdmin(*context); !allowed.ok()) {
    return FinishUnary(context, allowed);
  }
  for (v1::PoolInfo& info : pools_.List()) {
    *response->add_pools() = std::move(info);
  }
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::ReadFrames(
    grpc::CallbackServerContext* context, const v1::ReadFramesRequest* request,
    v1::ReadFramesResponse* response) {
  if (absl::Status allowed = AuthorizeAdmin(*context); !allowed.ok()) {
    return FinishUnary(context, allowed);
  }
  absl::StatusOr<std::string> data = pools_.ReadFrames(
      request->pool(), request->first_frame(), request->frame_count());
  if (data.ok()) response->set_data(*std::move(data));
  return FinishUnary(context, data.status());
}

grpc::ServerUnaryReactor* AdminService::WriteFrames(
    grpc::CallbackServerContext* context, const v1::WriteFramesRequest* request,
    v1::WriteFramesResponse* /*response*/) {
  if (absl::Status allowed = AuthorizeAdmin(*context); !allowed.ok()) {
    return FinishUnary(context, allowed);
  }
  return FinishUnary(context,
                     pools_.WriteFrames(request->pool(), request->first_frame(),
                                        request->data()));
}

absl::StatusOr<uint64_t> AdminService::Revoke(
    const v1::RevokeFrameRequest& request) {
  std::shared_ptr<Session> session = registry_.Find(request.session_id());
  if (session == nullptr) return UnknownSession(request.session_id());
  SessionRegion* region = session->FindRegion(request.region_id());
  if (region == nullptr || region->pool == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("session ", session->id(),
                                                   " has no device region ",
                                                   request.region_id()));
  }
  absl::Status target = ValidateFaultTarget(region->region, request.offset());
  if (!target.ok()) return target;
  std::shared_ptr<FaultStreamSink> stream = session->stream();
  if (stream == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("session ", session->id(),
                     " has no Faults stream to send the revocation on"));
  }
  absl::StatusOr<uint64_t> frame =
      region->pool->Revoke(request.offset() / v1::wire::kPageBytes);
  if (!frame.ok()) return frame.status();
  Session::Revocation revocation =
      session->AddRevocation(request.region_id(), request.offset(), *frame);
  v1::FaultStreamResponse message;
  v1::FrameRevocation* sent = message.mutable_revocation();
  sent->set_revocation_id(revocation.revocation_id);
  sent->set_region_id(revocation.region_id);
  sent->set_offset(revocation.offset);
  sent->set_frame(revocation.frame);
  if (!stream->Send(std::move(message))) {
    // The stream ended meanwhile; the VMM unmaps everything when it goes.
    session->TakeRevocation(revocation.revocation_id);
    region->pool->ReleaseRevoked(revocation.frame);
    return absl::UnavailableError(
        absl::StrCat("session ", session->id(),
                     "'s stream ended before the revocation was sent"));
  }
  return revocation.revocation_id;
}

grpc::ServerUnaryReactor* AdminService::RevokeFrame(
    grpc::CallbackServerContext* context, const v1::RevokeFrameRequest* request,
    v1::RevokeFrameResponse* response) {
  if (absl::Status allowed = AuthorizeAdmin(*context); !allowed.ok()) {
    return FinishUnary(context, allowed);
  }
  absl::StatusOr<uint64_t> revocation_id = Revoke(*request);
  if (revocation_id.ok()) response->set_revocation_id(*revocation_id);
  return FinishUnary(context, revocation_id.status());
}

std::string AdminService::Metrics() {
  v1::GetStatsResponse stats;
  FillStats("", &stats).IgnoreError();
  const v1::StagingCounters& staging = stats.staging_total();
  return absl::StrCat(
      RenderPrometheusText(stats, pools_.List(), watchers_.dropped_total()),
      RenderStagingText(staging.staged_pages(), staging.inline_pages(),
                        staging.refused_releases()));
}

}  // namespace faultline::broker
