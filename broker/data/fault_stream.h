// The Faults stream of one VMM (gRPC callback API): reads stream messages,
// hands faults to the FaultProcessor (many in flight, answered in any
// order), writes answers and frame revocations one at a time from a queue.
//
// Threading: gRPC runs the reactions; answers arrive from worker threads
// through the stream's sink. All decisions to start a write, start a read
// or finish are made under the sink's lock and the operation is started
// outside it, with a flag that keeps Finish from overtaking a starting op.
#ifndef FAULTLINE_BROKER_DATA_FAULT_STREAM_H_
#define FAULTLINE_BROKER_DATA_FAULT_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "broker/data/fault_processor.h"
#include "broker/net/peer_credentials.h"
#include "broker/session/session_registry.h"
#include "proto/faultline/v1/broker.grpc.pb.h"

namespace faultline::broker {

// The metadata key that carries a session's secret.

// The session `session_id` names, if the call's metadata carries its token.
// NOT_FOUND for an unknown session, UNAUTHENTICATED without a token,
// PERMISSION_DENIED for a wrong one or a Unix-socket caller whose uid is
// neither the session owner's nor root.
absl::StatusOr<std::shared_ptr<Session>> AuthorizeSession(
    const grpc::CallbackServerContext& context, const SessionRegistry& registry,
    const PeerTable& peers, const std::string& session_id);

// Creates the reactor for one Faults call; it deletes itself when done.
grpc::ServerBidiReactor<v1::FaultStreamRequest, v1::FaultStreamResponse>*
NewFaultStream(grpc::CallbackServerContext* context, SessionRegistry& registry,
               const PeerTable& peers, FaultProcessor& processor);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_DATA_FAULT_STREAM_H_
