#include "vmm/fault/fault_stats.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;

TEST(LatencyHistogramTest, QuantilesBoundTheSamples) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.Quantile(0.5), 0u);
  for (uint64_t i = 1; i <= 1000; ++i) histogram.Add(i);
  const uint64_t p50 = histogram.Quantile(0.5);
  EXPECT_GE(p50, 500u);
  EXPECT_LE(p50, 500u + 500u / 8 + 1);
  EXPECT_GE(histogram.Quantile(0.999), 999u);
  EXPECT_GE(histogram.Quantile(1.0), 1000u);
  histogram.Add(UINT64_MAX);  // lands in the open last bucket
  EXPECT_EQ(histogram.count(), 1001u);
}

TEST(FaultStatsTest, SummaryAndJsonCarryTheCounters) {
  FaultStats stats;
  stats.Count(FaultStats::Counter::kFaults, 3);
  stats.Count(FaultStats::Counter::kPages, 2);
  stats.Count(FaultStats::Counter::kZeros);
  stats.CountRetry("over quota");
  stats.RecordLatency(absl::Microseconds(40));
  FaultCountersSnapshot snapshot = stats.Snapshot();
  EXPECT_EQ(snapshot.faults, 3u);
  EXPECT_EQ(snapshot.retries, 1u);
  EXPECT_GE(snapshot.latency_p50_us, 40u);
  EXPECT_THAT(FaultStats::Summary(snapshot), HasSubstr("page 2, zero 1"));
  EXPECT_THAT(FaultStats::Summary(snapshot), HasSubstr("over quota=1"));
  EXPECT_THAT(FaultStats::Json(snapshot), HasSubstr("\"over quota\":1"));
  EXPECT_THAT(FaultStats::Json(snapshot), HasSubstr("\"page\":2"));
}

}  // namespace
}  // namespace faultline::vmm
