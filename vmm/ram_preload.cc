#include "vmm/ram_preload.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "proto/base/grpc_status.h"
#include "proto/base/status_macros.h"
#include "proto/faultline/v1/broker.grpc.pb.h"

namespace faultline::vmm {
namespace {

// The most the broker sends with one answer.
constexpr uint32_t kPrefetchPages = 64;

void SetDeadline(grpc::ClientContext* context, absl::Time deadline) {
  context->set_deadline(absl::ToChronoTime(deadline));
}

class Preloader {
 public:
  Preloader(const RamPreloadOptions& options, FaultEngine* engine)
      : options_(options),
        engine_(engine),
        give_up_(absl::Now() + options.deadline),
        stub_(v1::FaultBroker::NewStub(grpc::CreateChannel(
            options.target, grpc::InsecureChannelCredentials()))) {}

  absl::StatusOr<uint64_t> Run() {
    RETURN_IF_ERROR(Attach());
    absl::Status loaded = LoadAll();
    absl::Status detached = Detach();
    RETURN_IF_ERROR(loaded);
    RETURN_IF_ERROR(detached);
    return installed_;
  }

 private:
  absl::Status Attach() {
    v1::AttachRequest request;
    request.set_protocol_version(1);
    request.set_vm_name(options_.vm_name + "-preload");
    request.set_vm_token(options_.vm_token);
    *request.add_regions() = options_.ram;
    grpc::ClientContext context;
    SetDeadline(&context, give_up_);
    context.set_wait_for_ready(true);
    RETURN_IF_ERROR(ToAbslStatus(stub_->Attach(&context, request, &session_)));
    return absl::OkStatus();
  }

  absl::Status Detach() {
    v1::DetachRequest request;
    request.set_session_id(session_.session_id());
    grpc::ClientContext context;
    SetDeadline(&context, absl::Now() + absl::Seconds(5));
    context.AddMetadata("faultline-session-token", session_.session_token());
    v1::DetachResponse response;
    return ToAbslStatus(stub_->Detach(&context, request, &response));
  }

  absl::Status LoadAll() {
    const uint64_t size = options_.ram.size_bytes();
    uint64_t offset = 0;
    uint64_t fault_id = 0;
    while (offset < size) {
      ASSIGN_OR_RETURN(const v1::FaultAnswer answer, Ask(++fault_id, offset));
      if (answer.has_page() || answer.has_zero()) {
        RETURN_IF_ERROR(Install(
            offset, answer.has_page() ? &answer.page().data() : nullptr));
      } else {
        return absl::FailedPreconditionError(absl::StrFormat(
            "preloading RAM offset 0x%x: the broker answered %s", offset,
            answer.ShortDebugString()));
      }
      uint64_t next = offset + kFaultPageBytes;
      for (const v1::ExtraPage& extra : answer.extra_pages()) {
        if (extra.offset() % kFaultPageBytes != 0 || extra.offset() >= size) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "preloading RAM: extra page at bad offset 0x%x", extra.offset()));
        }
        if (!extra.has_data() && !extra.has_zero()) {
          return absl::InvalidArgumentError(
              absl::StrFormat("preloading RAM: extra page 0x%x has no content",
                              extra.offset()));
        }
        RETURN_IF_ERROR(Install(extra.offset(),
                                extra.has_data() ? &extra.data() : nullptr));
        next = std::max(next, extra.offset() + kFaultPageBytes);
      }
      offset = next;
    }
    return absl::OkStatus();
  }

  // One page's answer, asking again after retry answers until the deadline.
  absl::StatusOr<v1::FaultAnswer> Ask(uint64_t fault_id, uint64_t offset) {
    v1::ResolveFaultRequest request;
    request.set_session_id(session_.session_id());
    v1::FaultRequest* fault = request.mutable_fault();
    fault->set_fault_id(fault_id);
    fault->set_region_id(options_.ram.region_id());
    fault->set_offset(offset);
    fault->set_access(v1::ACCESS_KIND_WRITE);
    fault->set_vcpu(0xFFFFFFFF);
    fault->set_prefetch_hint(kPrefetchPages);
    for (uint32_t attempt = 1;; ++attempt) {
      fault->set_attempt(attempt);
      grpc::ClientContext context;
      SetDeadline(&context, give_up_);
      context.AddMetadata("faultline-session-token", session_.session_token());
      v1::FaultAnswer answer;
      RETURN_IF_ERROR(
          ToAbslStatus(stub_->ResolveFault(&context, request, &answer)));
      if (answer.fault_id() != fault_id || answer.offset() != offset) {
        return absl::InternalError(absl::StrFormat(
            "preloading RAM offset 0x%x: answer for another fault", offset));
      }
      if (answer.has_error()) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "preloading RAM offset 0x%x: broker answered error: %s", offset,
            answer.error().message()));
      }
      if (!answer.has_retry()) return answer;
      const absl::Duration wait =
          std::max(absl::Microseconds(answer.retry().delay_hint_us()),
                   absl::Microseconds(200));
      if (absl::Now() + wait >= give_up_) {
        return absl::DeadlineExceededError(absl::StrFormat(
            "preloading RAM offset 0x%x: still answered retry (%s) at the "
            "deadline",
            offset, answer.retry().detail()));
      }
      absl::SleepFor(wait);
    }
  }

  // Installs one page (nullptr: zeroes); a page already there (the loader's)
  // is left as it is.
  absl::Status Install(uint64_t offset, const std::string* data) {
    if (data != nullptr && data->size() != kFaultPageBytes) {
      return absl::InvalidArgumentError(
          absl::StrFormat("preloading RAM offset 0x%x: page of %u bytes",
                          offset, data->size()));
    }
    absl::Status loaded = engine_->LoadPage(
        options_.ram.guest_physical_base() + offset,
        data != nullptr ? reinterpret_cast<const uint8_t*>(data->data())
                        : nullptr);
    if (absl::IsAlreadyExists(loaded)) return absl::OkStatus();
    if (loaded.ok()) ++installed_;
    return loaded;
  }

  const RamPreloadOptions& options_;
  FaultEngine* const engine_;
  const absl::Time give_up_;
  std::unique_ptr<v1::FaultBroker::Stub> stub_;
  v1::AttachResponse session_;
  uint64_t installed_ = 0;
};

}  // namespace

absl::StatusOr<uint64_t> PreloadRam(const RamPreloadOptions& options,
                                    FaultEngine* engine) {
  return Preloader(options, engine).Run();
}

}  // namespace faultline::vmm
