#include "vmm/fault/fault_policy.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace faultline::vmm {
namespace {

absl::Status Reject(const AskedFault& asked, const std::string& defect) {
  return absl::InvalidArgumentError(
      absl::StrFormat("answer for fault %u (region %u offset %#x) rejected: %s",
                      asked.fault_id, asked.region_id, asked.offset, defect));
}

absl::Status CheckSlot(const AskedFault& asked, const RegionRules& region,
                       uint32_t slot, const std::string& what) {
  if (region.staging_slot_count == 0) {
    return Reject(asked, absl::StrFormat("%s is in staging slot %u but no "
                                         "staging area was granted",
                                         what, slot));
  }
  if (slot >= region.staging_slot_count) {
    return Reject(asked,
                  absl::StrFormat("%s is in staging slot %u, outside the "
                                  "area's %u slots",
                                  what, slot, region.staging_slot_count));
  }
  return absl::OkStatus();
}

absl::Status CheckExtraPages(const v1::FaultAnswer& answer,
                             const AskedFault& asked,
                             const RegionRules& region) {
  for (const v1::ExtraPage& extra : answer.extra_pages()) {
    if (extra.offset() % kFaultPageBytes != 0 ||
        extra.offset() >= region.size_bytes) {
      return Reject(asked, absl::StrFormat("extra page offset %#x is not a "
                                           "page of the region",
                                           extra.offset()));
    }
    if (extra.offset() == asked.offset) {
      return Reject(asked, "extra page repeats the faulting page");
    }
    switch (extra.content_case()) {
      case v1::ExtraPage::kData:
        if (extra.data().size() != kFaultPageBytes) {
          return Reject(asked,
                        absl::StrFormat("extra page at %#x has %u "
                                        "bytes, not %u",
                                        extra.offset(), extra.data().size(),
                                        kFaultPageBytes));
        }
        break;
      case v1::ExtraPage::kZero:
        break;
      case v1::ExtraPage::kStagingSlot:
        if (absl::Status slot =
                CheckSlot(asked, region, extra.staging_slot(),
                          absl::StrFormat("extra page at %#x", extra.offset()));
            !slot.ok()) {
          return slot;
        }
        break;
      case v1::ExtraPage::CONTENT_NOT_SET:
        return Reject(asked, absl::StrFormat("extra page at %#x has no content",
                                             extra.offset()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AnswerAction> ValidateAnswer(const v1::FaultAnswer& answer,
                                            const AskedFault& asked,
                                            const RegionRules& region) {
  if (answer.fault_id() != asked.fault_id) {
    return Reject(asked,
                  absl::StrFormat("it names fault %u", answer.fault_id()));
  }
  if (answer.region_id() != asked.region_id ||
      answer.offset() != asked.offset) {
    return Reject(asked, absl::StrFormat("it names region %u offset %#x",
                                         answer.region_id(), answer.offset()));
  }
  const bool has_extras = answer.extra_pages_size() > 0;
  switch (answer.answer_case()) {
    case v1::FaultAnswer::kPage: {
      if (region.device) return Reject(asked, "page answer for device memory");
      const v1::PageAnswer& page = answer.page();
      if (page.content_case() == v1::PageAnswer::kStagingSlot) {
        if (absl::Status slot =
                CheckSlot(asked, region, page.staging_slot(), "the page");
            !slot.ok()) {
          return slot;
        }
      } else if (page.content_case() != v1::PageAnswer::kData) {
        return Reject(asked, "page answer without content");
      } else if (page.data().size() != kFaultPageBytes) {
        return Reject(asked,
                      absl::StrFormat("page has %u bytes, not %u",
                                      page.data().size(), kFaultPageBytes));
      }
      if (absl::Status extras = CheckExtraPages(answer, asked, region);
          !extras.ok()) {
        return extras;
      }
      return AnswerAction::kInstallPage;
    }
    case v1::FaultAnswer::kZero:
      if (region.device) return Reject(asked, "zero answer for device memory");
      if (absl::Status extras = CheckExtraPages(answer, asked, region);
          !extras.ok()) {
        return extras;
      }
      return AnswerAction::kInstallZero;
    case v1::FaultAnswer::kFrame:
      if (!region.device) return Reject(asked, "frame answer for RAM");
      if (has_extras) return Reject(asked, "extra pages with a frame answer");
      if (answer.frame().frame() >= region.frame_count) {
        return Reject(
            asked, absl::StrFormat("frame %u is outside the device's %u "
                                   "frames",
                                   answer.frame().frame(), region.frame_count));
      }
      return AnswerAction::kMapFrame;
    case v1::FaultAnswer::kRetry:
      if (has_extras) return Reject(asked, "extra pages with a retry answer");
      return AnswerAction::kRetry;
    case v1::FaultAnswer::kError:
      if (has_extras) return Reject(asked, "extra pages with an error answer");
      return AnswerAction::kFail;
    case v1::FaultAnswer::ANSWER_NOT_SET:
      break;
  }
  return Reject(asked, "no answer set");
}

RetryPlan PlanRetry(const RetryOptions& options, uint32_t retries_so_far,
                    absl::Duration hint, absl::Time first_asked,
                    absl::Time now) {
  RetryPlan plan;
  if (retries_so_far >= options.budget) {
    plan.give_up = true;
    plan.why = absl::StrFormat("retry budget of %u spent", options.budget);
    return plan;
  }
  absl::Duration backoff = options.initial_backoff;
  for (uint32_t i = 0; i < retries_so_far && backoff < options.max_backoff;
       ++i) {
    backoff *= 2;
  }
  backoff = std::min(backoff, options.max_backoff);
  const absl::Duration delay = std::max(backoff, hint);
  const absl::Time deadline = first_asked + options.deadline;
  if (now >= deadline) {
    plan.give_up = true;
    plan.why = absl::StrFormat("fault deadline of %s passed",
                               absl::FormatDuration(options.deadline));
    return plan;
  }
  // The last ask happens no later than the deadline.
  plan.ask_at = std::min(now + delay, deadline);
  return plan;
}

bool PastDeadline(const RetryOptions& options, absl::Time first_asked,
                  absl::Time now) {
  return now - first_asked > options.deadline;
}

std::string RetryReasonName(v1::RetryReason reason) {
  switch (reason) {
    case v1::RETRY_REASON_INTERRUPTED:
      return "interrupted";
    case v1::RETRY_REASON_NOT_YET_AVAILABLE:
      return "not yet available";
    case v1::RETRY_REASON_OVER_QUOTA:
      return "over quota";
    case v1::RETRY_REASON_STORE_UNAVAILABLE:
      return "store unavailable";
    default:
      return "busy";
  }
}

std::string ErrorKindName(v1::ErrorKind kind) {
  switch (kind) {
    case v1::ERROR_KIND_OUT_OF_MEMORY:
      return "out of memory";
    case v1::ERROR_KIND_DENIED:
      return "denied";
    default:
      return "bus error";
  }
}

}  // namespace faultline::vmm
