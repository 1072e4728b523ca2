#include "broker/policy/injection.h"

#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

v1::InjectionRule RetryRule(uint64_t first, uint64_t last, uint32_t count) {
  v1::InjectionRule rule;
  rule.set_session_id("s");
  rule.set_region_id(1);
  rule.set_first_offset(first);
  rule.set_last_offset(last);
  rule.set_count(count);
  rule.mutable_retry()->set_reason(v1::RETRY_REASON_BUSY);
  return rule;
}

TEST(InjectionTableTest, CountsDownAndMatchesRange) {
  InjectionTable table;
  ASSERT_TRUE(table.Add(RetryRule(4096, 8192, 2)).ok());
  EXPECT_FALSE(table.Match("s", 1, 0).has_value());
  EXPECT_FALSE(table.Match("s", 2, 4096).has_value());
  EXPECT_FALSE(table.Match("t", 1, 4096).has_value());
  EXPECT_TRUE(table.Match("s", 1, 4096).has_value());
  EXPECT_TRUE(table.Match("s", 1, 8192).has_value());
  EXPECT_FALSE(table.Match("s", 1, 8192).has_value()) << "count used up";
}

TEST(InjectionTableTest, ZeroRangeIsWholeRegionZeroCountIsForever) {
  InjectionTable table;
  auto id = table.Add(RetryRule(0, 0, 0));
  ASSERT_TRUE(id.ok());
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(table.Match("s", 1, 4096u * i).has_value());
  }
  EXPECT_EQ(table.Clear(*id), 1u);
  EXPECT_FALSE(table.Match("s", 1, 0).has_value());
}

TEST(InjectionTableTest, RefusesMalformedRules) {
  InjectionTable table;
  v1::InjectionRule no_action = RetryRule(0, 0, 1);
  no_action.clear_retry();
  EXPECT_EQ(table.Add(no_action).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(table.Add(RetryRule(8192, 4096, 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  v1::InjectionRule huge_delay = RetryRule(0, 0, 1);
  huge_delay.set_delay_us(3600ull * 1000 * 1000);
  EXPECT_EQ(table.Add(huge_delay).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(InjectionTableTest, ClearSessionAndClearAll) {
  InjectionTable table;
  ASSERT_TRUE(table.Add(RetryRule(0, 0, 0)).ok());
  v1::InjectionRule other = RetryRule(0, 0, 0);
  other.set_session_id("t");
  ASSERT_TRUE(table.Add(other).ok());
  table.ClearSession("s");
  EXPECT_FALSE(table.Match("s", 1, 0).has_value());
  EXPECT_TRUE(table.Match("t", 1, 0).has_value());
  EXPECT_EQ(table.Clear(0), 1u);
}

}  // namespace
}  // namespace faultline::broker
