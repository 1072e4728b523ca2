#include "broker/sources/zero_source.h"

#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

TEST(ZeroSourceTest, AnswersZeroNotBytes) {
  ZeroSource source;
  v1::FaultAnswer answer;
  source.Answer(8192, &answer);
  EXPECT_TRUE(answer.has_zero());
  EXPECT_EQ(source.Describe(), "zero");
}

}  // namespace
}  // namespace faultline::broker
