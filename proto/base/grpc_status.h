// The one adapter between grpc::Status and absl::Status, used at the edge of
// every gRPC service and client; code below it speaks absl::Status only.
#ifndef FAULTLINE_PROTO_BASE_GRPC_STATUS_H_
#define FAULTLINE_PROTO_BASE_GRPC_STATUS_H_

#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace faultline {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status ToAbslStatus(const grpc::Status& status);

// Ends a callback-API unary call at once with `status`, for handlers that
// answer without waiting (including every refusal).
grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context,
                                      const absl::Status& status);

}  // namespace faultline

#endif  // FAULTLINE_PROTO_BASE_GRPC_STATUS_H_
