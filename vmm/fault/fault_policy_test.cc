#include "vmm/fault/fault_policy.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;

constexpr AskedFault kAsked = {7, 1, 0x3000};
constexpr RegionRules kRam = {1, false, 1 << 20, 0};
constexpr RegionRules kDevice = {1, true, 1 << 20, 16};

v1::FaultAnswer Echo() {
  v1::FaultAnswer answer;
  answer.set_fault_id(kAsked.fault_id);
  answer.set_region_id(kAsked.region_id);
  answer.set_offset(kAsked.offset);
  return answer;
}

// Every answer here carries its bytes inline: there is no staging area.
const StagingSlots& NoArea() {
  static const StagingSlots* const none = new StagingSlots();
  return *none;
}

std::string Defect(const v1::FaultAnswer& answer, const RegionRules& region) {
  auto action = ValidateAnswer(answer, kAsked, region, NoArea());
  EXPECT_FALSE(action.ok());
  return std::string(action.status().message());
}

TEST(ValidateAnswerTest, AcceptsWellFormedAnswers) {
  v1::FaultAnswer page = Echo();
  page.mutable_page()->set_data(std::string(4096, 'x'));
  v1::ExtraPage* extra = page.add_extra_pages();
  extra->set_offset(0x4000);
  extra->mutable_zero();
  EXPECT_EQ(*ValidateAnswer(page, kAsked, kRam, NoArea()),
            AnswerAction::kInstallPage);

  v1::FaultAnswer zero = Echo();
  zero.mutable_zero();
  EXPECT_EQ(*ValidateAnswer(zero, kAsked, kRam, NoArea()),
            AnswerAction::kInstallZero);

  v1::FaultAnswer frame = Echo();
  frame.mutable_frame()->set_frame(15);
  EXPECT_EQ(*ValidateAnswer(frame, kAsked, kDevice, NoArea()),
            AnswerAction::kMapFrame);

  v1::FaultAnswer retry = Echo();
  retry.mutable_retry()->set_delay_hint_us(10);
  EXPECT_EQ(*ValidateAnswer(retry, kAsked, kDevice, NoArea()),
            AnswerAction::kRetry);

  v1::FaultAnswer error = Echo();
  error.mutable_error()->set_kind(v1::ERROR_KIND_DENIED);
  EXPECT_EQ(*ValidateAnswer(error, kAsked, kRam, NoArea()),
            AnswerAction::kFail);
}

TEST(ValidateAnswerTest, AsksTheSlotsOwnerAboutStagingSlots) {
  v1::FaultAnswer page = Echo();
  page.mutable_page()->set_staging_slot(0);
  EXPECT_THAT(Defect(page, kRam),
              HasSubstr("answer for fault 7 (region 1 offset 0x3000) rejected: "
                        "the page is in staging slot 0 but no staging area"));

  v1::FaultAnswer extra = Echo();
  extra.mutable_zero();
  v1::ExtraPage* staged = extra.add_extra_pages();
  staged->set_offset(0x5000);
  staged->set_staging_slot(1000);
  EXPECT_THAT(Defect(extra, kRam),
              HasSubstr("extra page at 0x5000 is in staging slot 1000"));
}

TEST(ValidateRevocationTest, OnlyDevicePagesCanBeRevoked) {
  v1::FrameRevocation revocation;
  revocation.set_revocation_id(3);
  revocation.set_region_id(1);
  revocation.set_offset(0x2000);
  EXPECT_TRUE(ValidateRevocation(revocation, &kDevice).ok());
  EXPECT_THAT(std::string(ValidateRevocation(revocation, &kRam).message()),
              HasSubstr("revocation 3 rejected"));
  EXPECT_FALSE(ValidateRevocation(revocation, nullptr).ok());
  revocation.set_offset(0x2001);
  EXPECT_FALSE(ValidateRevocation(revocation, &kDevice).ok());
  revocation.set_offset(1 << 20);
  EXPECT_FALSE(ValidateRevocation(revocation, &kDevice).ok());
}

TEST(ValidateAnswerTest, RejectsMalformedAnswers) {
  v1::FaultAnswer missing = Echo();
  EXPECT_THAT(Defect(missing, kRam), HasSubstr("no answer set"));

  v1::FaultAnswer short_page = Echo();
  short_page.mutable_page()->set_data(std::string(4095, 'x'));
  EXPECT_THAT(Defect(short_page, kRam), HasSubstr("4095 bytes"));

  v1::FaultAnswer empty_page = Echo();
  empty_page.mutable_page();
  EXPECT_THAT(Defect(empty_page, kRam), HasSubstr("without content"));

  v1::FaultAnswer slot = Echo();
  slot.mutable_page()->set_staging_slot(3);
  EXPECT_THAT(Defect(slot, kRam), HasSubstr("staging"));

  v1::FaultAnswer far_frame = Echo();
  far_frame.mutable_frame()->set_frame(16);
  EXPECT_THAT(Defect(far_frame, kDevice), HasSubstr("outside the device"));

  v1::FaultAnswer frame_for_ram = Echo();
  frame_for_ram.mutable_frame()->set_frame(1);
  EXPECT_THAT(Defect(frame_for_ram, kRam), HasSubstr("frame answer for RAM"));

  v1::FaultAnswer page_for_device = Echo();
  page_for_device.mutable_page()->set_data(std::string(4096, 'x'));
  EXPECT_THAT(Defect(page_for_device, kDevice), HasSubstr("device memory"));

  v1::FaultAnswer wrong_id = Echo();
  wrong_id.set_fault_id(8);
  wrong_id.mutable_zero();
  EXPECT_THAT(Defect(wrong_id, kRam), HasSubstr("names fault 8"));

  v1::FaultAnswer wrong_offset = Echo();
  wrong_offset.set_offset(0x4000);
  wrong_offset.mutable_zero();
  EXPECT_THAT(Defect(wrong_offset, kRam), HasSubstr("offset 0x4000"));

  v1::FaultAnswer wrong_region = Echo();
  wrong_region.set_region_id(2);
  wrong_region.mutable_zero();
  EXPECT_THAT(Defect(wrong_region, kRam), HasSubstr("region 2"));
}

TEST(ValidateAnswerTest, RejectsBadExtraPages) {
  auto with_extra = [](uint64_t offset) {
    v1::FaultAnswer answer = Echo();
    answer.mutable_zero();
    v1::ExtraPage* extra = answer.add_extra_pages();
    extra->set_offset(offset);
    return answer;
  };
  v1::FaultAnswer no_content = with_extra(0x5000);
  EXPECT_THAT(Defect(no_content, kRam), HasSubstr("no content"));

  v1::FaultAnswer outside = with_extra(1 << 20);
  outside.mutable_extra_pages(0)->mutable_zero();
  EXPECT_THAT(Defect(outside, kRam), HasSubstr("not a page of the region"));

  v1::FaultAnswer unaligned = with_extra(0x5001);
  unaligned.mutable_extra_pages(0)->mutable_zero();
  EXPECT_THAT(Defect(unaligned, kRam), HasSubstr("not a page"));

  v1::FaultAnswer same = with_extra(kAsked.offset);
  same.mutable_extra_pages(0)->mutable_zero();
  EXPECT_THAT(Defect(same, kRam), HasSubstr("repeats"));

  v1::FaultAnswer short_data = with_extra(0x5000);
  short_data.mutable_extra_pages(0)->set_data("abc");
  EXPECT_THAT(Defect(short_data, kRam), HasSubstr("3 bytes"));

  v1::FaultAnswer extras_with_frame = Echo();
  extras_with_frame.mutable_frame()->set_frame(1);
  extras_with_frame.add_extra_pages()->mutable_zero();
  EXPECT_THAT(Defect(extras_with_frame, kDevice), HasSubstr("frame answer"));
}

TEST(PlanRetryTest, BacksOffAndHonoursHint) {
  RetryOptions options;
  options.budget = 5;
  options.deadline = absl::Seconds(10);
  const absl::Time start = absl::FromUnixSeconds(1000);
  RetryPlan first = PlanRetry(options, 0, absl::ZeroDuration(), start, start);
  ASSERT_FALSE(first.give_up);
  EXPECT_EQ(first.ask_at, start + options.initial_backoff);
  RetryPlan third = PlanRetry(options, 2, absl::ZeroDuration(), start, start);
  EXPECT_EQ(third.ask_at, start + 4 * options.initial_backoff);
  RetryPlan hinted = PlanRetry(options, 0, absl::Milliseconds(5), start, start);
  EXPECT_EQ(hinted.ask_at, start + absl::Milliseconds(5));
  RetryPlan capped = PlanRetry(options, 4, absl::ZeroDuration(), start, start);
  EXPECT_LE(capped.ask_at, start + options.max_backoff);
}

TEST(PlanRetryTest, GivesUpPastBudgetOrDeadline) {
  RetryOptions options;
  options.budget = 2;
  options.deadline = absl::Seconds(1);
  const absl::Time start = absl::FromUnixSeconds(1000);
  RetryPlan spent = PlanRetry(options, 2, absl::ZeroDuration(), start, start);
  EXPECT_TRUE(spent.give_up);
  EXPECT_THAT(spent.why, HasSubstr("budget"));
  RetryPlan late = PlanRetry(options, 0, absl::ZeroDuration(), start,
                             start + absl::Seconds(2));
  EXPECT_TRUE(late.give_up);
  EXPECT_THAT(late.why, HasSubstr("deadline"));
  // A hint beyond the deadline is clipped to the deadline.
  RetryPlan clipped = PlanRetry(options, 0, absl::Seconds(5), start, start);
  EXPECT_EQ(clipped.ask_at, start + absl::Seconds(1));
  EXPECT_TRUE(PastDeadline(options, start, start + absl::Seconds(2)));
  EXPECT_FALSE(PastDeadline(options, start, start + absl::Milliseconds(10)));
}

TEST(NamesTest, UnknownValuesReadAsDocumented) {
  EXPECT_EQ(KnownRetryReason(static_cast<v1::RetryReason>(99)),
            v1::RETRY_REASON_BUSY);
  EXPECT_EQ(KnownErrorKind(static_cast<v1::ErrorKind>(99)),
            v1::ERROR_KIND_BUS_ERROR);
  EXPECT_EQ(KnownErrorKind(v1::ERROR_KIND_DENIED), v1::ERROR_KIND_DENIED);
  v1::RetryAnswer retry;
  retry.set_reason(v1::RETRY_REASON_OVER_QUOTA);
  EXPECT_EQ(DescribeRetry(retry), "over_quota");
  retry.set_detail("42 in flight");
  EXPECT_EQ(DescribeRetry(retry), "over_quota (42 in flight)");
  EXPECT_EQ(KnownRetryReason(v1::RETRY_REASON_UNSPECIFIED),
            v1::RETRY_REASON_BUSY);
  EXPECT_EQ(KnownRetryReason(v1::RETRY_REASON_NOT_YET_AVAILABLE),
            v1::RETRY_REASON_NOT_YET_AVAILABLE);
  EXPECT_EQ(KnownRetryReason(v1::RETRY_REASON_STORE_UNAVAILABLE),
            v1::RETRY_REASON_STORE_UNAVAILABLE);
}

// Any reason, a new one or one this VMM does not know, is asked again after
// the broker's hint: the reason is for people and counters, not the plan.
TEST(NamesTest, EveryRetryReasonIsRetried) {
  for (int reason : {int{v1::RETRY_REASON_STORE_UNAVAILABLE}, 99}) {
    v1::FaultAnswer retry = Echo();
    retry.mutable_retry()->set_reason(static_cast<v1::RetryReason>(reason));
    retry.mutable_retry()->set_delay_hint_us(250'000);
    EXPECT_EQ(*ValidateAnswer(retry, kAsked, kRam, NoArea()),
              AnswerAction::kRetry);
  }
  const absl::Time start = absl::UnixEpoch();
  RetryPlan plan =
      PlanRetry(RetryOptions(), 0, absl::Milliseconds(250), start, start);
  EXPECT_FALSE(plan.give_up);
  EXPECT_EQ(plan.ask_at, start + absl::Milliseconds(250));
}

}  // namespace
}  // namespace faultline::vmm
