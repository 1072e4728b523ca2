#include "guest-drivers/linux/flmem/latency.h"

#include "gtest/gtest.h"

namespace faultline::flmem {
namespace {

TEST(LatencyTest, NearestRankPercentiles) {
  std::vector<uint64_t> samples;
  for (uint64_t i = 100; i >= 1; --i) samples.push_back(i * 1000);
  const LatencySummary summary = Summarize(samples);
  EXPECT_EQ(summary.count, 100u);
  EXPECT_EQ(summary.p50_ns, 50000u);
  EXPECT_EQ(summary.p90_ns, 90000u);
  EXPECT_EQ(summary.p99_ns, 99000u);
  EXPECT_EQ(summary.max_ns, 100000u);
  EXPECT_EQ(summary.mean_ns, 50500u);
  EXPECT_EQ(FormatSummary(summary),
            "n=100 p50=50.0us p90=90.0us p99=99.0us max=100.0us "
            "mean=50.5us");
}

TEST(LatencyTest, OneAndNoSamples) {
  EXPECT_EQ(Summarize({7}).p50_ns, 7u);
  EXPECT_EQ(Summarize({7}).p99_ns, 7u);
  EXPECT_EQ(Summarize({}).count, 0u);
  EXPECT_EQ(Summarize({}).max_ns, 0u);
}

TEST(LatencyTest, ClockMovesForward) {
  const uint64_t before = NowNs();
  EXPECT_GE(NowNs(), before);
}

}  // namespace
}  // namespace faultline::flmem
