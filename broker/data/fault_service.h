// The FaultBroker service (data path) on gRPC's callback API: Attach,
// Detach, ResolveFault and the Faults stream. The one place where its
// absl::Status results become grpc::Status. Who may call what is the
// Authorizer's to say.
//
// Threading: gRPC calls the handlers on its own threads, concurrently.
#ifndef FAULTLINE_BROKER_DATA_FAULT_SERVICE_H_
#define FAULTLINE_BROKER_DATA_FAULT_SERVICE_H_

#include <string>

#include "absl/time/time.h"
#include "broker/data/fault_processor.h"
#include "broker/policy/injection.h"
#include "broker/session/authorization.h"
#include "broker/session/session_registry.h"
#include "proto/faultline/v1/broker.grpc.pb.h"

namespace faultline::broker {

// The longest an Attach waits for its image files to open, whatever the
// caller's deadline.
inline constexpr absl::Duration kImageOpenTimeout = absl::Seconds(10);

class FaultService final : public v1::FaultBroker::CallbackService {
 public:
  FaultService(SessionRegistry& registry, FaultProcessor& processor,
               InjectionTable& injections, const Authorizer& authorizer)
      : registry_(registry),
        processor_(processor),
        injections_(injections),
        authorizer_(authorizer) {}

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
  // Ends, as EndSession does, every session that has had no stream and no
  // call for `grace` (its VMM was killed), each logged to stderr; returns
  // how many.
  int ReapIdleSessions(absl::Duration grace);

 private:
  SessionRegistry& registry_;
  FaultProcessor& processor_;
  InjectionTable& injections_;
  const Authorizer& authorizer_;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_DATA_FAULT_SERVICE_H_
