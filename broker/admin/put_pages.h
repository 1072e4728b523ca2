// The PutPages client stream (callback read reactor): writes each message's
// pages into its store through the store backend, one message at a time on
// StoreCalls' threads (inline for the in-memory backend), then reads the
// next. While a message's pages are being stored, faults on them answer
// retry BUSY.
#ifndef FAULTLINE_BROKER_ADMIN_PUT_PAGES_H_
#define FAULTLINE_BROKER_ADMIN_PUT_PAGES_H_

#include <grpcpp/grpcpp.h>

#include "broker/admin/store_calls.h"
#include "proto/faultline/v1/broker.grpc.pb.h"

namespace faultline::broker {

// The reactor deletes itself when the call is over.
grpc::ServerReadReactor<v1::PutPagesRequest>* NewPutPagesStream(
    StoreCalls& calls, grpc::CallbackServerContext* context,
    v1::PutPagesResponse* response);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_ADMIN_PUT_PAGES_H_
