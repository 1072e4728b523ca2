#include "vmm/ram_preload.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "proto/base/status_macros.h"
#include "proto/faultline/v1/enum_words.h"
#include "proto/faultline/v1/wire.h"
#include "vmm/fault/answer_installer.h"
#include "vmm/fault/fault_table.h"
#include "vmm/transport/broker_session.h"
#include "vmm/transport/staging_slots.h"

namespace faultline::vmm {
namespace {

namespace wire = ::faultline::v1::wire;

BrokerSession::Options SessionOptions(const RamPreloadOptions& options) {
  BrokerSession::Options session;
  session.target = options.target;
  session.vm_name = options.vm_name + "-preload";
  session.vm_token = options.vm_token;
  session.regions = {options.ram};
  return session;  // no staging: unary answers carry their bytes
}

class Preloader {
 public:
  Preloader(const RamPreloadOptions& options, FaultEngine* engine)
      : options_(options),
        engine_(engine),
        started_(absl::Now()),
        session_(SessionOptions(options)),
        rules_{options.ram.region_id(), false, options.ram.size_bytes(), 0} {}

  absl::StatusOr<uint64_t> Run() {
    RETURN_IF_ERROR(session_.AttachUntil(started_ + options_.retry.deadline,
                                         nullptr, [](absl::Duration delay) {
                                           absl::SleepFor(delay);
                                           return true;
                                         }));
    absl::Status loaded = LoadAll();
    absl::Status detached = session_.Detach(absl::Seconds(5));
    RETURN_IF_ERROR(loaded);
    RETURN_IF_ERROR(detached);
    return installed_;
  }

 private:
  absl::Status LoadAll() {
    uint64_t offset = 0;
    uint64_t fault_id = 0;
    while (offset < rules_.size_bytes) {
      ASSIGN_OR_RETURN(const v1::FaultAnswer answer, Ask(++fault_id, offset));
      ASSIGN_OR_RETURN(const std::vector<AnswerPage> pages,
                       AnswerPages(answer, no_area_));
      uint64_t next = offset + wire::kPageBytes;
      for (const AnswerPage& page : pages) {
        RETURN_IF_ERROR(Install(page));
        next = std::max(next, page.offset + wire::kPageBytes);
      }
      offset = next;
    }
    return absl::OkStatus();
  }

  // A checked page or zero answer for the page at `offset`, asking again
  // after retry answers as a fault would.
  absl::StatusOr<v1::FaultAnswer> Ask(uint64_t fault_id, uint64_t offset) {
    v1::FaultRequest fault;
    fault.set_fault_id(fault_id);
    fault.set_region_id(rules_.region_id);
    fault.set_offset(offset);
    fault.set_access(v1::ACCESS_KIND_WRITE);
    fault.set_vcpu(kUnknownVcpu);
    fault.set_prefetch_hint(wire::kMaxPrefetchPages);
    const AskedFault asked{fault_id, rules_.region_id, offset};
    for (uint32_t retries = 0;; ++retries) {
      fault.set_attempt(retries + 1);
      ASSIGN_OR_RETURN(
          v1::FaultAnswer answer,
          session_.Resolve(fault, started_ + options_.retry.deadline));
      absl::StatusOr<AnswerAction> action =
          ValidateAnswer(answer, asked, rules_, no_area_);
      if (!action.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("preloading RAM: ", action.status().message()));
      }
      if (*action == AnswerAction::kFail) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "preloading RAM offset %#x: broker answered error (%s: %s)", offset,
            v1::EnumWord(KnownErrorKind(answer.error().kind())),
            answer.error().message()));
      }
      if (*action != AnswerAction::kRetry) return answer;
      const absl::Time now = absl::Now();
      const RetryPlan plan = PlanRetry(
          options_.retry, retries,
          absl::Microseconds(answer.retry().delay_hint_us()), started_, now);
      if (plan.give_up) {
        return absl::DeadlineExceededError(
            absl::StrFormat("preloading RAM offset %#x: %s; last reason: %s",
                            offset, plan.why, DescribeRetry(answer.retry())));
      }
      absl::SleepFor(plan.ask_at - now);
    }
  }

  // A page already there (the loader's) is left as it is.
  absl::Status Install(const AnswerPage& page) {
    absl::Status loaded = engine_->LoadPage(
        options_.ram.guest_physical_base() + page.offset, page.bytes);
    if (absl::IsAlreadyExists(loaded)) return absl::OkStatus();
    if (loaded.ok()) ++installed_;
    return loaded;
  }

  const RamPreloadOptions& options_;
  FaultEngine* const engine_;
  const absl::Time started_;
  BrokerSession session_;
  const RegionRules rules_;
  const StagingSlots no_area_;  // unary answers never name staging slots
  uint64_t installed_ = 0;
};

}  // namespace

absl::StatusOr<uint64_t> PreloadRam(const RamPreloadOptions& options,
                                    FaultEngine* engine) {
  return Preloader(options, engine).Run();
}

}  // namespace faultline::vmm
