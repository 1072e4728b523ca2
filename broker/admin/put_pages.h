// The PutPages client stream (callback read reactor): writes each message's
// pages into its store; while a message's pages are being stored, faults on
// them answer retry BUSY.
#ifndef FAULTLINE_BROKER_ADMIN_PUT_PAGES_H_
#define FAULTLINE_BROKER_ADMIN_PUT_PAGES_H_

#include <grpcpp/grpcpp.h>

#include "broker/sources/page_store.h"
#include "proto/faultline/v1/broker.grpc.pb.h"

namespace faultline::broker {

// The reactor deletes itself when the call is over.
grpc::ServerReadReactor<v1::PutPagesRequest>* NewPutPagesStream(
    PageStoreRegistry& stores, v1::PutPagesResponse* response);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_ADMIN_PUT_PAGES_H_
