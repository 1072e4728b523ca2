#include "broker/policy/single_flight.h"

#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

TEST(SingleFlightTest, FollowersGetTheLeadersAnswer) {
  SingleFlight flights;
  const SingleFlight::Key key{1, 4096};
  EXPECT_TRUE(flights.Join(key, nullptr));
  int followers_answered = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(flights.Join(key, [&](const v1::FaultAnswer& answer) {
      EXPECT_TRUE(answer.has_zero());
      ++followers_answered;
    }));
  }
  EXPECT_TRUE(flights.Join({1, 8192}, nullptr)) << "another page leads too";
  v1::FaultAnswer answer;
  answer.mutable_zero();
  for (const auto& waiter : flights.Complete(key)) waiter(answer);
  EXPECT_EQ(followers_answered, 3);
  EXPECT_TRUE(flights.Join(key, nullptr)) << "a new flight after completion";
  EXPECT_EQ(flights.flights(), 2u);
}

}  // namespace
}  // namespace faultline::broker
