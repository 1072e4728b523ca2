#include "broker/admin/admin_service.h"

#include "absl/strings/str_cat.h"
#include "broker/admin/put_pages.h"
#include "broker/admin/stats_report.h"
#include "proto/base/grpc_status.h"
#include "proto/base/status_macros.h"

namespace faultline::broker {
namespace {

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

template <typename Handler>
grpc::ServerUnaryReactor* AdminService::Unary(
    grpc::CallbackServerContext* context, Handler handler) {
  absl::Status status = authorizer_.AuthorizeAdmin(*context);
  if (status.ok()) status = handler();
  return FinishUnary(context, status);
}

grpc::ServerUnaryReactor* AdminService::ListSessions(
    grpc::CallbackServerContext* context,
    const v1::ListSessionsRequest* /*request*/,
    v1::ListSessionsResponse* response) {
  return Unary(context, [&] {
    for (const auto& session : registry_.List()) {
      *response->add_sessions() = session->Info();
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::GetStats(
    grpc::CallbackServerContext* context, const v1::GetStatsRequest* request,
    v1::GetStatsResponse* response) {
  return Unary(context, [&] {
    return FillStats(registry_, request->session_id(), response);
  });
}

grpc::ServerWriteReactor<v1::FaultEvent>* AdminService::WatchFaults(
    grpc::CallbackServerContext* context,
    const v1::WatchFaultsRequest* request) {
  if (absl::Status allowed = authorizer_.AuthorizeAdmin(*context);
      !allowed.ok()) {
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
  if (absl::Status allowed = authorizer_.AuthorizeAdmin(*context);
      !allowed.ok()) {
    return new RefusedStream<grpc::ServerReadReactor<v1::PutPagesRequest>>(
        allowed);
  }
  return NewPutPagesStream(store_calls_, context, response);
}

grpc::ServerUnaryReactor* AdminService::ListStores(
    grpc::CallbackServerContext* context,
    const v1::ListStoresRequest* /*request*/,
    v1::ListStoresResponse* response) {
  if (absl::Status allowed = authorizer_.AuthorizeAdmin(*context);
      !allowed.ok()) {
    return FinishUnary(context, allowed);
  }
  return store_calls_.ListStores(context, response);
}

grpc::ServerUnaryReactor* AdminService::DeleteStore(
    grpc::CallbackServerContext* context, const v1::DeleteStoreRequest* request,
    v1::DeleteStoreResponse* response) {
  if (absl::Status allowed = authorizer_.AuthorizeAdmin(*context);
      !allowed.ok()) {
    return FinishUnary(context, allowed);
  }
  return store_calls_.DeleteStore(context, request, response);
}

grpc::ServerUnaryReactor* AdminService::SetInjection(
    grpc::CallbackServerContext* context, const v1::InjectionRule* request,
    v1::SetInjectionResponse* response) {
  return Unary(context, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<Session> session,
                     registry_.Get(request->session_id()));
    if (session->FindRegion(request->region_id()) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "session ", session->id(), " has no region ", request->region_id()));
    }
    absl::StatusOr<uint64_t> rule_id = injections_.Add(*request);
    if (rule_id.ok()) response->set_rule_id(*rule_id);
    return rule_id.status();
  });
}

grpc::ServerUnaryReactor* AdminService::ClearInjection(
    grpc::CallbackServerContext* context,
    const v1::ClearInjectionRequest* request,
    v1::ClearInjectionResponse* response) {
  return Unary(context, [&] {
    response->set_rules_cleared(injections_.Clear(request->rule_id()));
    if (request->rule_id() != 0 && response->rules_cleared() == 0) {
      return absl::NotFoundError(
          absl::StrCat("no injection rule ", request->rule_id()));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::ListPools(
    grpc::CallbackServerContext* context,
    const v1::ListPoolsRequest* /*request*/, v1::ListPoolsResponse* response) {
  return Unary(context, [&] {
    for (v1::PoolInfo& info : pools_.List()) {
      *response->add_pools() = std::move(info);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::ReadFrames(
    grpc::CallbackServerContext* context, const v1::ReadFramesRequest* request,
    v1::ReadFramesResponse* response) {
  return Unary(context, [&] {
    absl::StatusOr<std::string> data = pools_.ReadFrames(
        request->pool(), request->first_frame(), request->frame_count());
    if (data.ok()) response->set_data(*std::move(data));
    return data.status();
  });
}

grpc::ServerUnaryReactor* AdminService::WriteFrames(
    grpc::CallbackServerContext* context, const v1::WriteFramesRequest* request,
    v1::WriteFramesResponse* /*response*/) {
  return Unary(context, [&] {
    return pools_.WriteFrames(request->pool(), request->first_frame(),
                              request->data());
  });
}

grpc::ServerUnaryReactor* AdminService::RevokeFrame(
    grpc::CallbackServerContext* context, const v1::RevokeFrameRequest* request,
    v1::RevokeFrameResponse* response) {
  return Unary(context, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<Session> session,
                     registry_.Get(request->session_id()));
    absl::StatusOr<uint64_t> revocation_id =
        session->RevokeFrame(request->region_id(), request->offset());
    if (revocation_id.ok()) response->set_revocation_id(*revocation_id);
    return revocation_id.status();
  });
}

}  // namespace faultline::broker
