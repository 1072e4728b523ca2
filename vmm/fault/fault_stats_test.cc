#include "vmm/fault/fault_stats.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

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

TEST(FaultStatsTest, CountsRetriesByTheProtocolsReason) {
  FaultStats stats;
  stats.Count(FaultStats::Counter::kFaults, 3);
  stats.Count(FaultStats::Counter::kPages, 2);
  stats.Count(FaultStats::Counter::kZeros);
  stats.CountRetry(v1::RETRY_REASON_OVER_QUOTA);
  stats.CountRetry(v1::RETRY_REASON_OVER_QUOTA);
  stats.CountRetry(v1::RETRY_REASON_BUSY);
  stats.RecordLatency(absl::Microseconds(40));
  FaultCountersSnapshot snapshot = stats.Snapshot();
  EXPECT_EQ(snapshot.faults, 3u);
  EXPECT_EQ(snapshot.pages, 2u);
  EXPECT_EQ(snapshot.zeros, 1u);
  EXPECT_EQ(snapshot.retries, 3u);
  EXPECT_EQ(snapshot.retries_by_reason.at(v1::RETRY_REASON_OVER_QUOTA), 2u);
  EXPECT_EQ(snapshot.retries_by_reason.at(v1::RETRY_REASON_BUSY), 1u);
  EXPECT_GE(snapshot.latency_p50_us, 40u);
}

TEST(FaultStatsTest, KeepsTheFirstPoisonedPages) {
  FaultStats stats;
  for (uint64_t page = 0; page < FaultStats::kMaxPoisonedPages + 5; ++page) {
    stats.Count(FaultStats::Counter::kPoisoned);
    stats.RecordPoisonedPage({page * 4096, v1::ERROR_KIND_DENIED, "no access"});
  }
  const FaultCountersSnapshot snapshot = stats.Snapshot();
  EXPECT_EQ(snapshot.poisoned, FaultStats::kMaxPoisonedPages + 5);
  ASSERT_EQ(snapshot.poisoned_pages.size(), FaultStats::kMaxPoisonedPages);
  EXPECT_EQ(snapshot.poisoned_pages[1].guest_physical, 4096u);
  EXPECT_EQ(snapshot.poisoned_pages[1].kind, v1::ERROR_KIND_DENIED);
  EXPECT_EQ(snapshot.poisoned_pages[1].message, "no access");
}

}  // namespace
}  // namespace faultline::vmm
