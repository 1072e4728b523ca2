// Unit tests of the benchmarks' pure parts: touch plans, percentiles and the
// report's ratios to the limit.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/bench/fault_path_report.h"
#include "integration/bench/latency_summary.h"
#include "integration/bench/touch_plan.h"

namespace faultline::bench {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<uint64_t> AllPages(const TouchPlanOptions& options) {
  std::vector<uint64_t> pages;
  for (int t = 0; t < options.threads; ++t) {
    const std::vector<uint64_t> plan = PagesForThread(options, t);
    pages.insert(pages.end(), plan.begin(), plan.end());
  }
  return pages;
}

TEST(TouchPlanTest, EveryPageExactlyOnceInEveryOrder) {
  for (const TouchOrder order :
       {TouchOrder::kSequential, TouchOrder::kStrided, TouchOrder::kRandom}) {
    for (const int threads : {1, 2, 3, 4}) {
      TouchPlanOptions options;
      options.total_pages = 1001;
      options.threads = threads;
      options.order = order;
      options.stride_pages = 16;
      std::vector<uint64_t> pages = AllPages(options);
      std::sort(pages.begin(), pages.end());
      ASSERT_EQ(pages.size(), 1001u) << TouchOrderName(order) << threads;
      for (uint64_t i = 0; i < pages.size(); ++i) ASSERT_EQ(pages[i], i);
    }
  }
}

TEST(TouchPlanTest, Orders) {
  TouchPlanOptions options;
  options.total_pages = 8;
  options.threads = 2;
  options.stride_pages = 2;
  options.order = TouchOrder::kSequential;
  EXPECT_THAT(PagesForThread(options, 1), ElementsAre(4, 5, 6, 7));
  options.order = TouchOrder::kStrided;
  EXPECT_THAT(PagesForThread(options, 1), ElementsAre(4, 6, 5, 7));
  options.order = TouchOrder::kRandom;
  const std::vector<uint64_t> random = PagesForThread(options, 1);
  EXPECT_EQ(std::set<uint64_t>(random.begin(), random.end()),
            std::set<uint64_t>({4, 5, 6, 7}));
  EXPECT_EQ(random, PagesForThread(options, 1));  // seeded: repeatable
}

TEST(TouchPlanTest, ParsesNames) {
  EXPECT_EQ(*ParseTouchOrder("strided"), TouchOrder::kStrided);
  EXPECT_FALSE(ParseTouchOrder("diagonal").ok());
}

TEST(LatencySummaryTest, NearestRankPercentiles) {
  std::vector<int64_t> nanos;
  for (int64_t i = 1000; i >= 1; --i) nanos.push_back(i * 1000);  // 1..1000 us
  const LatencySummary summary = Summarize(nanos);
  EXPECT_EQ(summary.count, 1000u);
  EXPECT_DOUBLE_EQ(summary.p50_us, 500);
  EXPECT_DOUBLE_EQ(summary.p99_us, 990);
  EXPECT_DOUBLE_EQ(summary.p999_us, 999);
  EXPECT_DOUBLE_EQ(summary.max_us, 1000);
}

TEST(LatencySummaryTest, EmptyIsZero) {
  std::vector<int64_t> none;
  EXPECT_EQ(Summarize(none).count, 0u);
}

FaultPathResult Result(ServeMode mode, Transport transport, double pps,
                       double p50) {
  FaultPathResult result;
  result.spec.mode = mode;
  result.spec.transport = transport;
  result.spec.order = TouchOrder::kRandom;
  result.spec.threads = 2;
  result.pages_per_second = pps;
  result.faults_per_second = pps;
  result.latency.p50_us = p50;
  return result;
}

TEST(FaultPathReportTest, RatiosAreToTheLimitOfTheSameRow) {
  const std::vector<FaultPathResult> results = {
      Result(ServeMode::kLocal, Transport::kInProcess, 40000, 20),
      Result(ServeMode::kStream, Transport::kUnix, 10000, 100)};
  const std::string table = FaultPathMarkdown(results);
  EXPECT_THAT(table,
              HasSubstr("| random | 2 | local | 40000 | 40000 | 20.0 |"));
  EXPECT_THAT(table, HasSubstr("| random | 2 | stream/unix | 10000 | 10000 | "
                               "100.0 | 0.0 | 0.0 | 0.25 | 0.25 | 5.00 |"));
  const std::string csv = FaultPathCsv(results);
  EXPECT_THAT(csv, HasSubstr("random,2,stream,unix,stream/unix,"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);
}

}  // namespace
}  // namespace faultline::bench
