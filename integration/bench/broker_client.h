// Small protocol-v1 client helpers shared by the benchmarks: a pattern RAM
// region, Attach and Detach with deadlines, and the session-token metadata.
#ifndef FAULTLINE_INTEGRATION_BENCH_BROKER_CLIENT_H_
#define FAULTLINE_INTEGRATION_BENCH_BROKER_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.grpc.pb.h"

namespace faultline::bench {

// A RAM region served by the broker's pattern source.
v1::Region PatternRegion(uint32_t region_id, uint64_t guest_physical_base,
                         uint64_t size_bytes, uint64_t seed);

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target);

// Sets a deadline `timeout` from now on `context`.
void SetDeadline(grpc::ClientContext* context, absl::Duration timeout);

// Adds the session token (wire::kSessionTokenKey) for session-scoped calls.
void AddSessionToken(grpc::ClientContext* context, const std::string& token);

absl::StatusOr<v1::AttachResponse> Attach(v1::FaultBroker::Stub* stub,
                                          const std::string& vm_name,
                                          const std::string& vm_token,
                                          std::vector<v1::Region> regions,
                                          absl::Duration timeout);

absl::Status Detach(v1::FaultBroker::Stub* stub,
                    const v1::AttachResponse& session, absl::Duration timeout);

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_BROKER_CLIENT_H_
