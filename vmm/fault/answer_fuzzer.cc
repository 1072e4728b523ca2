// Fuzzes what the VMM does with a broker's answer before it touches guest
// memory: ValidateAnswer against the fault asked and its region (RAM or
// device, with or without a staging area), the installation plan of an
// accepted page or zero answer (AnswerPages: the pages it installs, read
// from staging slots or inline), a revocation's check, and PlanRetry. What
// must hold, beyond no crash and no UB:
// - an accepted page or zero answer has a plan; its first page is the
//   faulting page; every page is page-aligned, inside the region, and its
//   bytes (inline or in a staging slot) are readable;
// - an accepted frame answer names a frame inside the device;
// - an accepted revocation names a page of a device region;
// - no retry plan is past the budget or the deadline, or before now.
// Input: the serialized FaultAnswer, then (from the end) the fault, the
// region, the staging area's slots and the retry's numbers.
#include <fuzzer/FuzzedDataProvider.h>
#include <google/protobuf/stubs/logging.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "vmm/fault/answer_installer.h"
#include "vmm/fault/fault_policy.h"
#include "vmm/transport/staging_slots.h"

namespace faultline::vmm {
namespace {

constexpr uint32_t kAreaSlots = 8;
constexpr uint64_t kPage = 4096;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "answer_fuzzer: %s\n", what);
  std::abort();
}

// A staging area file with kAreaSlots pages, made once per run.
const std::string& AreaPath() {
  static const std::string* path = [] {
    char dir[] = "/tmp/faultline-answer-fuzz-XXXXXX";
    if (::mkdtemp(dir) == nullptr) Fail("mkdtemp");
    auto* p = new std::string(std::string(dir) + "/staging");
    std::ofstream(*p) << std::string(kAreaSlots * kPage, 's');
    return p;
  }();
  return *path;
}

void CheckPlan(const v1::FaultAnswer& answer, const AskedFault& asked,
               const RegionRules& rules, const StagingSlots& slots) {
  absl::StatusOr<std::vector<AnswerPage>> pages = AnswerPages(answer, slots);
  if (!pages.ok() || pages->empty()) Fail("an accepted answer has no plan");
  if ((*pages)[0].offset != asked.offset) Fail("first page is not the fault's");
  for (const AnswerPage& page : *pages) {
    if (page.offset % kPage != 0 || page.offset >= rules.size_bytes) {
      Fail("a page of the plan is outside the region or unaligned");
    }
    if (page.bytes == nullptr) continue;
    volatile uint8_t sum = 0;
    for (uint64_t i = 0; i < kPage; ++i) sum = sum + page.bytes[i];
  }
}

void CheckRetry(FuzzedDataProvider& input) {
  RetryOptions options;
  options.budget = input.ConsumeIntegralInRange<uint32_t>(0, 100);
  options.deadline = absl::Milliseconds(input.ConsumeIntegral<uint32_t>());
  const uint32_t retries = input.ConsumeIntegral<uint32_t>();
  const absl::Duration hint =
      absl::Microseconds(input.ConsumeIntegral<uint32_t>());
  const absl::Time first = absl::FromUnixSeconds(1700000000);
  const absl::Time now =
      first + absl::Milliseconds(input.ConsumeIntegral<uint32_t>());
  const RetryPlan plan = PlanRetry(options, retries, hint, first, now);
  if (plan.give_up) return;
  if (retries >= options.budget) Fail("a retry past the budget");
  if (plan.ask_at < now || plan.ask_at > first + options.deadline) {
    Fail("a retry before now or past the deadline");
  }
}

}  // namespace
}  // namespace faultline::vmm

// Invalid UTF-8 in string fields is the input's business, not a log line.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace faultline::vmm;
  namespace v1 = faultline::v1;
  FuzzedDataProvider input(data, size);
  RegionRules rules;
  rules.region_id = input.ConsumeIntegralInRange<uint32_t>(0, 3);
  rules.device = input.ConsumeBool();
  rules.size_bytes =
      input.ConsumeIntegralInRange<uint64_t>(0, 64) * kPage +
      (input.ConsumeBool() ? 0 : input.ConsumeIntegral<uint16_t>());
  rules.frame_count = input.ConsumeIntegralInRange<uint64_t>(0, 16);
  AskedFault asked;
  asked.fault_id = input.ConsumeIntegralInRange<uint64_t>(0, 3);
  asked.region_id = rules.region_id;
  // The engine asks only for pages of its own regions.
  asked.offset = input.ConsumeIntegralInRange<uint64_t>(0, 64) * kPage;
  if (rules.size_bytes < kPage) return 0;
  asked.offset %= rules.size_bytes & ~(kPage - 1);
  StagingSlots slots;
  const uint32_t slot_count =
      input.ConsumeIntegralInRange<uint32_t>(0, kAreaSlots);
  if (slot_count > 0) {
    v1::StagingArea area;
    area.set_path(AreaPath());
    area.set_slot_count(slot_count);
    area.set_slot_size(kPage);
    if (!slots.UseArea(&area).ok()) Fail("the staging area cannot be mapped");
  }
  v1::FrameRevocation revocation;
  // The engine finds the region by this id before the check.
  revocation.set_region_id(rules.region_id);
  revocation.set_offset(input.ConsumeIntegral<uint64_t>() % (80 * kPage));
  revocation.set_frame(input.ConsumeIntegralInRange<uint64_t>(0, 20));
  CheckRetry(input);

  const std::string bytes = input.ConsumeRemainingBytesAsString();
  v1::FaultAnswer answer;
  if (!answer.ParseFromString(bytes)) return 0;
  absl::StatusOr<AnswerAction> action =
      ValidateAnswer(answer, asked, rules, slots);
  if (action.ok()) {
    switch (*action) {
      case AnswerAction::kInstallPage:
      case AnswerAction::kInstallZero:
        if (rules.device) Fail("a page answer accepted for device memory");
        CheckPlan(answer, asked, rules, slots);
        break;
      case AnswerAction::kMapFrame:
        if (!rules.device || answer.frame().frame() >= rules.frame_count) {
          Fail("a frame answer accepted outside the device");
        }
        break;
      case AnswerAction::kRetry:
      case AnswerAction::kFail:
        break;
    }
    slots.Release(answer);
  }
  if (ValidateRevocation(revocation, &rules).ok() &&
      (!rules.device || revocation.offset() % kPage != 0 ||
       revocation.offset() >= rules.size_bytes)) {
    Fail("a revocation accepted outside its device region");
  }
  return 0;
}
