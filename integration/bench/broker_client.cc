#include "integration/bench/broker_client.h"

#include <chrono>

#include "proto/base/grpc_status.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::bench {

v1::Region PatternRegion(uint32_t region_id, uint64_t guest_physical_base,
                         uint64_t size_bytes, uint64_t seed) {
  v1::Region region;
  region.set_region_id(region_id);
  region.set_name("ram");
  region.set_kind(v1::REGION_KIND_RAM);
  region.set_guest_physical_base(guest_physical_base);
  region.set_size_bytes(size_bytes);
  region.set_page_size(v1::wire::kPageBytes);
  region.mutable_source()->mutable_pattern()->set_seed(seed);
  return region;
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target) {
  // A channel of its own per client, so that benchmarked clients do not
  // share one HTTP/2 connection and its flow control.
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                   arguments);
}

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMicroseconds(timeout));
}

void AddSessionToken(grpc::ClientContext* context, const std::string& token) {
  context->AddMetadata(v1::wire::kSessionTokenKey, token);
}

absl::StatusOr<v1::AttachResponse> Attach(v1::FaultBroker::Stub* stub,
                                          const std::string& vm_name,
                                          const std::string& vm_token,
                                          std::vector<v1::Region> regions,
                                          absl::Duration timeout) {
  v1::AttachRequest request;
  request.set_protocol_version(v1::wire::kProtocolVersion);
  request.set_vm_name(vm_name);
  request.set_vm_token(vm_token);
  request.set_vcpu_count(1);
  for (v1::Region& region : regions) *request.add_regions() = std::move(region);
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  context.set_wait_for_ready(true);
  v1::AttachResponse response;
  const grpc::Status status = stub->Attach(&context, request, &response);
  if (!status.ok()) return ToAbslStatus(status);
  return response;
}

absl::Status Detach(v1::FaultBroker::Stub* stub,
                    const v1::AttachResponse& session, absl::Duration timeout) {
  v1::DetachRequest request;
  request.set_session_id(session.session_id());
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  AddSessionToken(&context, session.session_token());
  v1::DetachResponse response;
  return ToAbslStatus(stub->Detach(&context, request, &response));
}

}  // namespace faultline::bench
