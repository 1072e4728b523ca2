// The BrokerAdmin service on gRPC's callback API: sessions, statistics, the
// live fault feed, page stores, fault injection, device pools and frame
// revocation. Every call is checked once, by the Authorizer's admin rule,
// before its handler runs.
//
// Threading: gRPC calls the handlers on its own threads, concurrently.
#ifndef FAULTLINE_BROKER_ADMIN_ADMIN_SERVICE_H_
#define FAULTLINE_BROKER_ADMIN_ADMIN_SERVICE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/admin/store_calls.h"
#include "broker/devmem/frame_pool_registry.h"
#include "broker/observe/watch_hub.h"
#include "broker/observe/watch_stream.h"
#include "broker/policy/injection.h"
#include "broker/session/authorization.h"
#include "broker/session/session_registry.h"
#include "proto/faultline/v1/broker.grpc.pb.h"

namespace faultline::broker {

class AdminService final : public v1::BrokerAdmin::CallbackService {
 public:
  AdminService(SessionRegistry& registry, FramePoolRegistry& pools,
               StoreBackend& stores, InjectionTable& injections,
               WatchHub& watchers, const Authorizer& authorizer)
      : registry_(registry),
        pools_(pools),
        store_calls_(stores),
        injections_(injections),
        watchers_(watchers),
        authorizer_(authorizer) {}

  grpc::ServerUnaryReactor* ListSessions(
      grpc::CallbackServerContext* context,
      const v1::ListSessionsRequest* request,
      v1::ListSessionsResponse* response) override;
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context,
                                     const v1::GetStatsRequest* request,
                                     v1::GetStatsResponse* response) override;
  grpc::ServerWriteReactor<v1::FaultEvent>* WatchFaults(
      grpc::CallbackServerContext* context,
      const v1::WatchFaultsRequest* request) override;
  grpc::ServerReadReactor<v1::PutPagesRequest>* PutPages(
      grpc::CallbackServerContext* context,
      v1::PutPagesResponse* response) override;
  grpc::ServerUnaryReactor* ListStores(
      grpc::CallbackServerContext* context,
      const v1::ListStoresRequest* request,
      v1::ListStoresResponse* response) override;
  grpc::ServerUnaryReactor* DeleteStore(
      grpc::CallbackServerContext* context,
      const v1::DeleteStoreRequest* request,
      v1::DeleteStoreResponse* response) override;
  grpc::ServerUnaryReactor* SetInjection(
      grpc::CallbackServerContext* context, const v1::InjectionRule* request,
      v1::SetInjectionResponse* response) override;
  grpc::ServerUnaryReactor* ClearInjection(
      grpc::CallbackServerContext* context,
      const v1::ClearInjectionRequest* request,
      v1::ClearInjectionResponse* response) override;
  grpc::ServerUnaryReactor* ListPools(grpc::CallbackServerContext* context,
                                      const v1::ListPoolsRequest* request,
                                      v1::ListPoolsResponse* response) override;
  grpc::ServerUnaryReactor* ReadFrames(
      grpc::CallbackServerContext* context,
      const v1::ReadFramesRequest* request,
      v1::ReadFramesResponse* response) override;
  grpc::ServerUnaryReactor* WriteFrames(
      grpc::CallbackServerContext* context,
      const v1::WriteFramesRequest* request,
      v1::WriteFramesResponse* response) override;
  grpc::ServerUnaryReactor* RevokeFrame(
      grpc::CallbackServerContext* context,
      const v1::RevokeFrameRequest* request,
      v1::RevokeFrameResponse* response) override;

  // Ends every WatchFaults stream (shutdown).
  void CloseWatchers() ABSL_LOCKS_EXCLUDED(mu_);
  // Finishes the store calls under way and refuses new ones (shutdown).
  void StopStoreCalls() { store_calls_.Stop(); }

 private:
  // Runs `handler` (returning absl::Status) if the caller may make admin
  // calls, and finishes the call with its status or the refusal.
  template <typename Handler>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context,
                                  Handler handler);

  SessionRegistry& registry_;
  FramePoolRegistry& pools_;
  StoreCalls store_calls_;
  InjectionTable& injections_;
  WatchHub& watchers_;
  const Authorizer& authorizer_;

  absl::Mutex mu_;
  std::map<const WatchHandle*, std::shared_ptr<WatchHandle>> watches_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_ADMIN_ADMIN_SERVICE_H_
