#include "broker/observe/stats.h"

#include "broker/observe/prometheus_text.h"
#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

TEST(LatencyHistogramTest, PercentilesWithinABucket) {
  LatencyHistogram histogram;
  for (int i = 0; i < 990; ++i) histogram.Record(100);
  for (int i = 0; i < 10; ++i) histogram.Record(10'000);
  EXPECT_GE(histogram.Percentile(0.5), 100u);
  EXPECT_LE(histogram.Percentile(0.5), 125u);
  EXPECT_LE(histogram.Percentile(0.99), 125u);
  EXPECT_GE(histogram.Percentile(0.999), 10'000u);
  EXPECT_LE(histogram.Percentile(0.999), 12'500u);
  EXPECT_EQ(LatencyHistogram().Percentile(0.5), 0u);
}

TEST(FaultStatsTest, CountsByKindReasonAndBytes) {
  FaultStats stats;
  FaultOutcome page;
  page.answer = v1::FaultAnswer::kPage;
  page.bytes_served = 4096;
  page.latency_us = 50;
  stats.Record(page);
  FaultOutcome retry;
  retry.answer = v1::FaultAnswer::kRetry;
  retry.retry_reason = v1::RETRY_REASON_OVER_QUOTA;
  stats.Record(retry);
  FaultOutcome invalid;
  invalid.answer = v1::FaultAnswer::kError;
  invalid.error_kind = v1::ERROR_KIND_DENIED;
  invalid.invalid = true;
  stats.Record(invalid);
  stats.RecordReadPause(/*reask=*/false);
  stats.RecordReadPause(/*reask=*/true);
  stats.RecordReadPause(/*reask=*/true);
  v1::FaultCounters counters;
  stats.ToProto(&counters);
  EXPECT_EQ(counters.faults(), 3u);
  EXPECT_EQ(counters.pages(), 1u);
  EXPECT_EQ(counters.retries(), 1u);
  EXPECT_EQ(counters.errors(), 1u);
  EXPECT_EQ(counters.invalid_requests(), 1u);
  EXPECT_EQ(counters.bytes_served(), 4096u);
  EXPECT_EQ(counters.reads_paused(), 1u);
  EXPECT_EQ(counters.reasks_throttled(), 2u);
  ASSERT_EQ(counters.retries_by_reason_size(), 1);
  EXPECT_EQ(counters.retries_by_reason(0).reason(),
            v1::RETRY_REASON_OVER_QUOTA);
  ASSERT_EQ(counters.errors_by_kind_size(), 1);
  EXPECT_GT(counters.latency().bucket_count_size(), 0);

  v1::GetStatsResponse response;
  *response.mutable_total() = counters;
  std::string text = RenderPrometheusText(response, {}, 7);
  EXPECT_NE(text.find("faultline_faults_total{session=\"all\",vm=\"all\","
                      "region=\"all\",answer=\"page\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("reason=\"over_quota\"} 1"), std::string::npos);
  EXPECT_NE(text.find("kind=\"denied\"} 1"), std::string::npos);
  EXPECT_NE(text.find("faultline_reasks_throttled_total{session=\"all\","
                      "vm=\"all\",region=\"all\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("faultline_watch_events_dropped_total 7"),
            std::string::npos);
}

}  // namespace
}  // namespace faultline::broker
