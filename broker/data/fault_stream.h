// The Faults stream of one VMM (gRPC callback API): reads stream messages,
// opens the stream on its session (authorized), gives released staging
// slots back, hands faults to the FaultProcessor (many in flight, answered
// in any order) and confirmed revocations to the session. Writing is the
// StreamWriter's.
//
// A StreamOpen with a fault ring generation also starts a RingReader: the
// session's ring then carries requests like stream messages, and answers
// that fit a ring record go back through it (the rest on the stream).
//
// Threading: gRPC runs the reactions, one read at a time; the ring reader's
// thread releases slots and starts faults alongside them; answers arrive
// from worker threads and go straight to the ring or the writer. A session
// over its quota (the FaultProcessor's MayTake) is not read until its
// throttle resumes the stream, from an answering thread or the scheduler's
// timer; a paused stream still ends on cancel, detach and broker shutdown,
// since no read holds it open.
#ifndef FAULTLINE_BROKER_DATA_FAULT_STREAM_H_
#define FAULTLINE_BROKER_DATA_FAULT_STREAM_H_

#include <grpcpp/grpcpp.h>

#include "broker/data/fault_processor.h"
#include "broker/session/authorization.h"
#include "proto/faultline/v1/broker.grpc.pb.h"

namespace faultline::broker {

// Creates the reactor for one Faults call; it deletes itself when done.
grpc::ServerBidiReactor<v1::FaultStreamRequest, v1::FaultStreamResponse>*
NewFaultStream(grpc::CallbackServerContext* context,
               const Authorizer& authorizer, FaultProcessor& processor);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_DATA_FAULT_STREAM_H_
