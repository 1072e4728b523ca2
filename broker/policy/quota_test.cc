#include "broker/policy/quota.h"

#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

TEST(SessionQuotaTest, InFlightLimit) {
  SessionQuota quota(2, 0);
  const absl::Time now = absl::UnixEpoch();
  EXPECT_FALSE(quota.Admit(now).has_value());
  EXPECT_FALSE(quota.Admit(now).has_value());
  auto over = quota.Admit(now);
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(over->reason(), v1::RETRY_REASON_OVER_QUOTA);
  EXPECT_GT(over->delay_hint_us(), 0u);
  EXPECT_NE(over->detail().find("limit is 2"), std::string::npos);
  quota.Release();
  EXPECT_FALSE(quota.Admit(now).has_value());
  EXPECT_EQ(quota.in_flight(), 2u);
}

TEST(SessionQuotaTest, TokenBucketRefillsWithTime) {
  SessionQuota quota(0, 10);  // 10 per second, bucket of 10.
  absl::Time now = absl::UnixEpoch();
  for (int i = 0; i < 10; ++i) {
    ASSERT_FALSE(quota.Admit(now).has_value()) << i;
    quota.Release();
  }
  auto over = quota.Admit(now);
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(over->reason(), v1::RETRY_REASON_OVER_QUOTA);
  EXPECT_LE(over->delay_hint_us(), 100'000u);
  now += absl::Milliseconds(100);  // One token back.
  EXPECT_FALSE(quota.Admit(now).has_value());
  EXPECT_TRUE(quota.Admit(now).has_value());
}

}  // namespace
}  // namespace faultline::broker
