#include "vmm/fault/fault_policy.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "proto/faultline/v1/enum_words.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::vmm {
namespace {

namespace wire = ::faultline::v1::wire;

absl::Status Reject(const AskedFault& asked, const std::string& defect) {
  return absl::InvalidArgumentError(
      absl::StrFormat("answer for fault %u (region %u offset %#x) rejected: %s",
                      asked.fault_id, asked.region_id, asked.offset, defect));
}

absl::Status CheckExtraPages(const v1::FaultAnswer& answer,
                             const AskedFault& asked,
                             const RegionRules& region) {
  for (const v1::ExtraPage& extra : answer.extra_pages()) {
    if (extra.offset() % wire::kPageBytes != 0 ||
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
        if (extra.data().size() != wire::kPageBytes) {
          return Reject(asked,
                        absl::StrFormat("extra page at %#x has %u "
                                        "bytes, not %u",
                                        extra.offset(), extra.data().size(),
                                        wire::kPageBytes));
        }
        break;
      case v1::ExtraPage::kZero:
        break;
      case v1::ExtraPage::kStagingSlot:
        break;  // the slot's number is checked by its owner
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
                                            const RegionRules& region,
                                            const StagingSlots& slots) {
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
        // The slot's number is checked by its owner, below.
      } else if (page.content_case() != v1::PageAnswer::kData) {
        return Reject(asked, "page answer without content");
      } else if (page.data().size() != wire::kPageBytes) {
        return Reject(asked,
                      absl::StrFormat("page has %u bytes, not %u",
                                      page.data().size(), wire::kPageBytes));
      }
      if (absl::Status extras = CheckExtraPages(answer, asked, region);
          !extras.ok()) {
        return extras;
      }
      if (absl::Status staged = slots.CheckAnswer(answer); !staged.ok()) {
        return Reject(asked, std::string(staged.message()));
      }
      return AnswerAction::kInstallPage;
    }
    case v1::FaultAnswer::kZero:
      if (region.device) return Reject(asked, "zero answer for device memory");
      if (absl::Status extras = CheckExtraPages(answer, asked, region);
          !extras.ok()) {
        return extras;
      }
      if (absl::Status staged = slots.CheckAnswer(answer); !staged.ok()) {
        return Reject(asked, std::string(staged.message()));
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

absl::Status ValidateRevocation(const v1::FrameRevocation& revocation,
                                const RegionRules* region) {
  if (region == nullptr || !region->device ||
      revocation.offset() % wire::kPageBytes != 0 ||
      revocation.offset() >= region->size_bytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("revocation %u rejected: region %u offset %#x is not "
                        "a device page",
                        revocation.revocation_id(), revocation.region_id(),
                        revocation.offset()));
  }
  return absl::OkStatus();
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

v1::RetryReason KnownRetryReason(v1::RetryReason reason) {
  switch (reason) {
    case v1::RETRY_REASON_INTERRUPTED:
    case v1::RETRY_REASON_NOT_YET_AVAILABLE:
    case v1::RETRY_REASON_OVER_QUOTA:
    case v1::RETRY_REASON_STORE_UNAVAILABLE:
      return reason;
    default:
      return v1::RETRY_REASON_BUSY;
  }
}

v1::ErrorKind KnownErrorKind(v1::ErrorKind kind) {
  switch (kind) {
    case v1::ERROR_KIND_OUT_OF_MEMORY:
    case v1::ERROR_KIND_DENIED:
      return kind;
    default:
      return v1::ERROR_KIND_BUS_ERROR;
  }
}

std::string DescribeRetry(const v1::RetryAnswer& retry) {
  const std::string reason = v1::EnumWord(KnownRetryReason(retry.reason()));
  return retry.detail().empty()
             ? reason
             : absl::StrFormat("%s (%s)", reason, retry.detail());
}

}  // namespace faultline::vmm
