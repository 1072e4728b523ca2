// The FaultBroker service (data path) on gRPC's callback API: Attach,
// Detach, ResolveFault and the Faults stream. The one place where its
// absl::Status results become grpc::Status.
//
// Threading: gRPC calls the handlers on its own threads, concurrently.
#ifndef FAULTLINE_BROKER_DATA_FAULT_SERVICE_H_
#define FAULTLINE_BROKER_DATA_FAULT_SERVICE_H_

#include <map>
#include <string>

#include "broker/data/fault_processor.h"
#include "broker/policy/injection.h"
#include "broker/net/peer_credentials.h"
#include "broker/session/session_registry.h"
#include "proto/faultline/v1/broker.grpc.pb.h"

namespace faultline::broker {

class FaultService final : public v1::FaultBroker::CallbackService {
 public:
  // `vm_tokens`: VM name -> token that TCP attaches must present. With no
  // entry for a VM, TCP attaches of that VM are refused.
  FaultService(SessionRegistry& registry, FaultProcessor& processor,
               InjectionTable& injections, const PeerTable& peers,
               std::map<std::string, std::string> vm_tokens)
      : registry_(registry),
        processor_(processor),
        injections_(injections),
        peers_(peers),
        vm_tokens_(std::move(vm_tokens)) {}

  grpc::ServerUnaryReactor* Attach(grpc::CallbackServerContext* context,
                                   const v1::AttachRequest* request,
                                   v1::AttachResponse* response) override;
  grpc::ServerUnaryReactor* Detach(grpc::CallbackServerContext* context,
                                   const v1::DetachRequest* request,
                                   v1::DetachResponse* response) override;
  grpc::ServerUnaryReactor* ResolveFault(grpc::CallbackServerContext* context,
                                         const v1::ResolveFaultRequest* request,
                                         v1::FaultAnswer* response) override;
  grpc::ServerBidiReactor<v1::FaultStreamRequest, v1::FaultStreamResponse>*
  Faults(grpc::CallbackServerContext* context) override;

  // Ends a session: its stream closes, its rules go, its pools are released.
  absl::Status EndSession(const std::string& session_id);

 private:
  absl::Status CheckTcpToken(const v1::AttachRequest& request) const;

  SessionRegistry& registry_;
  FaultProcessor& processor_;
  InjectionTable& injections_;
  const PeerTable& peers_;
  const std::map<std::string, std::string> vm_tokens_;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_DATA_FAULT_SERVICE_H_
