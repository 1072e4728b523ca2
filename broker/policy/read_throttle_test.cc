#include "broker/policy/read_throttle.h"

#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

using Wait = ReadThrottle::Wait;

TEST(ReadThrottleTest, PausesAtTheInFlightLimitAndResumesOnAnAnswer) {
  SessionQuota quota(2, 0);
  ReadThrottle throttle(quota, 0);
  const absl::Time now = absl::UnixEpoch();
  int resumed = 0;
  auto resume = [&] { ++resumed; };
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(throttle.MayTake(now, resume).wait, Wait::kNone);
    ASSERT_FALSE(quota.Admit(now).has_value());
    throttle.Took(false, now);
  }
  EXPECT_EQ(throttle.MayTake(now, resume).wait, Wait::kInFlight);
  EXPECT_EQ(throttle.waiting(), 1u);
  // The answer that frees a slot hands the resume back, once.
  quota.Release();
  std::vector<ReadThrottle::Resume> due = throttle.Answered();
  ASSERT_EQ(due.size(), 1u);
  for (auto& run : due) run();
  EXPECT_EQ(resumed, 1);
  EXPECT_TRUE(throttle.Answered().empty());
  EXPECT_EQ(throttle.MayTake(now, resume).wait, Wait::kNone);
}

TEST(ReadThrottleTest, AnAnswerThatLeavesTheSessionFullResumesNobody) {
  SessionQuota quota(1, 0);
  ReadThrottle throttle(quota, 0);
  const absl::Time now = absl::UnixEpoch();
  ASSERT_FALSE(quota.Admit(now).has_value());
  EXPECT_EQ(throttle.MayTake(now, [] {}).wait, Wait::kInFlight);
  // Another transport's fault takes the slot first: still full.
  quota.Release();
  ASSERT_FALSE(quota.Admit(now).has_value());
  EXPECT_TRUE(throttle.Answered().empty());
  EXPECT_EQ(throttle.waiting(), 1u);
  quota.Release();
  EXPECT_EQ(throttle.Answered().size(), 1u);
}

TEST(ReadThrottleTest, ReasksAreSpacedToTheRate) {
  SessionQuota quota(0, 0);
  ReadThrottle throttle(quota, 100);  // a bucket of 5 (50 ms)
  absl::Time now = absl::UnixEpoch();
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(throttle.MayTake(now, {}).wait, Wait::kNone) << i;
    throttle.Took(/*reask=*/true, now);
  }
  ReadThrottle::Verdict verdict = throttle.MayTake(now, {});
  EXPECT_EQ(verdict.wait, Wait::kReaskRate);
  EXPECT_EQ(verdict.not_before, now + absl::Milliseconds(10));
  EXPECT_EQ(throttle.waiting(), 0u);  // a timed wait keeps no resume
  now += absl::Milliseconds(10);
  EXPECT_EQ(throttle.MayTake(now, {}).wait, Wait::kNone);
  throttle.Took(true, now);
  EXPECT_EQ(throttle.MayTake(now, {}).wait, Wait::kReaskRate);
}

TEST(ReadThrottleTest, FirstAsksNeverSpendReaskTokens) {
  SessionQuota quota(0, 0);
  ReadThrottle throttle(quota, 1);
  const absl::Time now = absl::UnixEpoch();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(throttle.MayTake(now, {}).wait, Wait::kNone) << i;
    throttle.Took(/*reask=*/false, now);
  }
}

TEST(ReadThrottleTest, ZeroRateLeavesReasksUnlimited) {
  SessionQuota quota(0, 0);
  ReadThrottle throttle(quota, 0);
  const absl::Time now = absl::UnixEpoch();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(throttle.MayTake(now, {}).wait, Wait::kNone) << i;
    throttle.Took(true, now);
  }
}

TEST(ReadThrottleTest, FaultRateLimitWaitsInsteadOfRefusing) {
  SessionQuota quota(0, 10);  // 10 per second, bucket of 10
  ReadThrottle throttle(quota, 0);
  absl::Time now = absl::UnixEpoch();
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(throttle.MayTake(now, {}).wait, Wait::kNone);
    ASSERT_FALSE(quota.Admit(now).has_value());
    quota.Release();
  }
  ReadThrottle::Verdict verdict = throttle.MayTake(now, {});
  EXPECT_EQ(verdict.wait, Wait::kFaultRate);
  EXPECT_EQ(verdict.not_before, now + absl::Milliseconds(100));
  now = verdict.not_before;
  EXPECT_EQ(throttle.MayTake(now, {}).wait, Wait::kNone);
  EXPECT_FALSE(quota.Admit(now).has_value());
}

}  // namespace
}  // namespace faultline::broker
