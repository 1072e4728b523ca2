// The naive way: one handler thread, one unary ResolveFault call to the
// broker per fault, then UFFDIO_COPY. One gRPC round trip per fault and no
// fault overlaps another.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "integration/bench/broker_client.h"
#include "integration/bench/page_server.h"
#include "integration/bench/uffd_handler_server.h"
#include "proto/base/grpc_status.h"
#include "proto/base/status_macros.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::bench {
namespace {

constexpr absl::Duration kCallDeadline = absl::Seconds(10);
constexpr int kMaxAttempts = 64;

class UnaryServer : public UffdHandlerServer {
 public:
  static absl::StatusOr<std::unique_ptr<PageServer>> Start(
      const vmm::GuestMemory* memory, const v1::Region& attached,
      const ServerSpec& spec) {
    const vmm::MappedRegion* region = memory->FindRegion(attached.region_id());
    if (region == nullptr) return absl::InvalidArgumentError("no region 1");
    std::unique_ptr<UnaryServer> server(
        new UnaryServer(region, attached.region_id(), spec.target));
    ASSIGN_OR_RETURN(server->session_,
                     Attach(server->stub_.get(), spec.vm_name, spec.vm_token,
                            {attached}, kCallDeadline));
    server->attached_ = true;
    RETURN_IF_ERROR(server->StartHandler());
    return std::unique_ptr<PageServer>(std::move(server));
  }

  ~UnaryServer() override {
    StopHandler();
    if (attached_) (void)Detach(stub_.get(), session_, kCallDeadline);
  }

 private:
  UnaryServer(const vmm::MappedRegion* region, uint32_t region_id,
              const std::string& target)
      : UffdHandlerServer(region),
        region_id_(region_id),
        stub_(v1::FaultBroker::NewStub(MakeChannel(target))) {}

  absl::Status ServeFault(uint64_t offset) override {
    v1::ResolveFaultRequest request;
    request.set_session_id(session_.session_id());
    v1::FaultRequest* fault = request.mutable_fault();
    fault->set_fault_id(++next_fault_id_);
    fault->set_region_id(region_id_);
    fault->set_offset(offset);
    fault->set_access(v1::ACCESS_KIND_READ);
    fault->set_vcpu(0xFFFFFFFF);
    for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
      fault->set_attempt(attempt);
      grpc::ClientContext context;
      SetDeadline(&context, kCallDeadline);
      AddSessionToken(&context, session_.session_token());
      v1::FaultAnswer answer;
      const grpc::Status status =
          stub_->ResolveFault(&context, request, &answer);
      if (!status.ok()) return ToAbslStatus(status);
      if (answer.has_retry()) {
        ++retries_;
        absl::SleepFor(absl::Microseconds(
            std::max<uint32_t>(answer.retry().delay_hint_us(), 50)));
        continue;
      }
      if (!answer.has_page() ||
          answer.page().data().size() != v1::wire::kPageBytes ||
          answer.offset() != offset) {
        return absl::InternalError(
            absl::StrCat("unexpected answer for offset ", offset, ": ",
                         answer.ShortDebugString().substr(0, 200)));
      }
      return CopyPage(offset, answer.page().data().data());
    }
    return absl::DeadlineExceededError(
        absl::StrCat("offset ", offset, " still answered retry after ",
                     kMaxAttempts, " attempts"));
  }

  const uint32_t region_id_;
  std::unique_ptr<v1::FaultBroker::Stub> stub_;
  v1::AttachResponse session_;
  bool attached_ = false;
  uint64_t next_fault_id_ = 0;  // handler thread only
};

}  // namespace

absl::StatusOr<std::unique_ptr<PageServer>> StartUnaryServer(
    const vmm::GuestMemory* memory, const v1::Region& attached,
    const ServerSpec& spec) {
  return UnaryServer::Start(memory, attached, spec);
}

}  // namespace faultline::bench
