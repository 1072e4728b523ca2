#include "broker/policy/token_bucket.h"

#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

TEST(TokenBucketTest, StartsFullAndRefillsAtTheRate) {
  TokenBucket bucket(1000, 3);
  absl::Time now = absl::UnixEpoch();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(bucket.TryTake(now)) << i;
  EXPECT_FALSE(bucket.TryTake(now));
  EXPECT_EQ(bucket.Wait(now), absl::Milliseconds(1));
  now += absl::Milliseconds(1);
  EXPECT_EQ(bucket.Wait(now), absl::ZeroDuration());
  EXPECT_TRUE(bucket.TryTake(now));
  // It never holds more than its capacity.
  now += absl::Seconds(10);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(bucket.TryTake(now)) << i;
  EXPECT_FALSE(bucket.TryTake(now));
}

TEST(TokenBucketTest, DebtIsPaidBackBeforeTheNextToken) {
  TokenBucket bucket(100, 2);
  absl::Time now = absl::UnixEpoch();
  bucket.Take(now);
  bucket.Take(now);
  bucket.Take(now);  // one token of debt
  EXPECT_EQ(bucket.Wait(now), absl::Milliseconds(20));
  // At most one capacity deep.
  for (int i = 0; i < 10; ++i) bucket.Take(now);
  EXPECT_EQ(bucket.Wait(now), absl::Milliseconds(30));
}

TEST(TokenBucketTest, TimeGoingBackwardsTakesNothing) {
  TokenBucket bucket(10, 1);
  absl::Time now = absl::UnixEpoch() + absl::Seconds(5);
  EXPECT_TRUE(bucket.TryTake(now));
  EXPECT_FALSE(bucket.TryTake(now - absl::Seconds(1)));
  EXPECT_EQ(bucket.Wait(now + absl::Milliseconds(100)), absl::ZeroDuration());
}

}  // namespace
}  // namespace faultline::broker
