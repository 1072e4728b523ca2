// Unit tests of the side-by-side benchmark's pieces that need no CRIU: the
// touch record across the process boundary, CRIU's fault count from its
// log, the median and ratios of the report, CDF points, row names, the
// first-touch probe and child processes (pid namespace included).
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/bench/child_process.h"
#include "integration/bench/criu_peer.h"
#include "integration/bench/first_touch.h"
#include "integration/bench/peer_report.h"
#include "integration/bench/peer_row.h"
#include "integration/bench/touch_record.h"

namespace faultline::bench {
namespace {

using ::testing::HasSubstr;

TouchRecord SmallRecord() {
  TouchRecord record;
  record.region_address = 0x7f0000001000;
  record.region_pages = 3;
  record.run.nanos = {100, 250000, 900};
  record.run.waited = {0, 1, 0};
  record.run.wall_nanos = 300000;
  return record;
}

TEST(TouchRecordTest, RoundTrips) {
  absl::StatusOr<TouchRecord> parsed =
      ParseTouchRecord(FormatTouchRecord(SmallRecord()));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->region_address, 0x7f0000001000u);
  EXPECT_EQ(parsed->region_pages, 3u);
  EXPECT_EQ(parsed->run.nanos, SmallRecord().run.nanos);
  EXPECT_EQ(parsed->run.waited, SmallRecord().run.waited);
  EXPECT_EQ(parsed->run.wall_nanos, 300000);
}

TEST(TouchRecordTest, RefusesMalformedRecords) {
  const std::string good = FormatTouchRecord(SmallRecord());
  EXPECT_FALSE(ParseTouchRecord("").ok());
  EXPECT_FALSE(ParseTouchRecord("not a record\n").ok());
  // Cut short: no "end".
  EXPECT_FALSE(ParseTouchRecord(good.substr(0, good.size() - 4)).ok());
  std::string waited_two = good;
  waited_two.replace(waited_two.find("250000 1"), 8, "250000 2");
  EXPECT_FALSE(ParseTouchRecord(waited_two).ok());
  std::string negative = good;
  negative.replace(negative.find("100 0"), 5, "-10 0");
  EXPECT_FALSE(ParseTouchRecord(negative).ok());
  std::string more_pages = good;
  more_pages.replace(more_pages.find("region_pages 3"), 14, "region_pages 4");
  absl::Status status = ParseTouchRecord(more_pages).status();
  EXPECT_THAT(std::string(status.message()), HasSubstr("samples"));
}

TEST(CriuFaultsTest, CountsFaultLinesInsideTheRegion) {
  const std::string log =
      "(01.930472) uffd: 1-8: #PF at 0x7f26d2842000\n"
      "(01.934146) uffd: 1-8: uffd_copy: 0x7f26d2842000/4096\n"
      "(02.233865) uffd: 1-8: #PF at 0x7f26d1000000\n"
      "(02.236923) uffd: 1-8: #PF at 0x7f26d13ff000\n"
      "(02.236923) uffd: 1-8: #PF at 0x7f26d1400000\n"
      "(02.249159) uffd: 1-8: #PF at 0xzz\n";
  const CriuFaults faults =
      CountCriuFaults(log, 0x7f26d1000000, uint64_t{4} << 20);
  EXPECT_EQ(faults.total, 4u);
  EXPECT_EQ(faults.in_region, 2u);  // the region's first and last page
}

PeerRun MakeRun(std::vector<int64_t> nanos, std::vector<uint8_t> waited,
                uint64_t faults) {
  PeerRun run;
  run.pages = nanos.size();
  // The loop's wall time: twice its touches (probes and loop included).
  for (const int64_t n : nanos) run.touches.wall_nanos += 2 * n;
  run.touches.nanos = std::move(nanos);
  run.touches.waited = std::move(waited);
  run.faults = faults;
  return run;
}

TEST(PeerReportTest, KeepsTheMedianRunAndItsWaitedTouches) {
  const std::vector<PeerRun> runs = {
      MakeRun({4000, 4000}, {1, 1}, 2),   // 4 us/page
      MakeRun({1000, 3000}, {0, 1}, 1),   // 2 us/page: the median
      MakeRun({1000, 1000}, {0, 0}, 0)};  // 1 us/page
  const PeerSummary summary =
      SummarizePeerRuns("criu/lazy-pages", "log", TouchOrder::kRandom, runs);
  EXPECT_DOUBLE_EQ(summary.us_per_page, 2.0);
  EXPECT_EQ(summary.waited, 1u);
  EXPECT_EQ(summary.faults, 1u);
  EXPECT_DOUBLE_EQ(summary.waited_p50_us, 3.0);
  EXPECT_EQ(summary.us_per_page_runs, std::vector<double>({4, 2, 1}));
}

TEST(PeerReportTest, RatiosAreToTheLimitAndToCriuOfTheSameOrder) {
  const std::vector<PeerSummary> rows = {
      SummarizePeerRuns(kLimitLabel, "", TouchOrder::kRandom,
                        {MakeRun({20000, 20000}, {1, 1}, 2)}),
      SummarizePeerRuns("stream/unix", "", TouchOrder::kRandom,
                        {MakeRun({100000, 100000}, {1, 1}, 2)}),
      SummarizePeerRuns(kCriuLazyPagesLabel, "", TouchOrder::kRandom,
                        {MakeRun({1000, 49000}, {0, 1}, 1)}),
      SummarizePeerRuns(kCriuPageServerLabel, "", TouchOrder::kRandom,
                        {MakeRun({1000, 199000}, {0, 1}, 1)})};
  const std::string table = PeerMarkdown(rows);
  EXPECT_THAT(
      table, HasSubstr("| random | stream/unix | 100.0 | 200.0 | 5.00 | 4.00 | "
                       "1.00 | 100.00% | 1.0000 | 100.0 |"));
  EXPECT_THAT(table,
              HasSubstr("| random | criu/lazy-pages | 25.0 | 50.0 | 1.25 | "
                        "1.00 | 0.25 | 50.00% | 0.5000 | 49.0 |"));
  EXPECT_THAT(PeerCsv(rows), HasSubstr("random,stream/unix,2,100.00,"));
}

TEST(PeerReportTest, CdfPointsRiseToOne) {
  std::vector<int64_t> nanos;
  for (int i = 10000; i > 0; --i) nanos.push_back(i * 1000);
  const std::string points = CdfPoints(nanos, 100);
  std::vector<std::string> lines;
  for (size_t start = 0; start < points.size();) {
    const size_t end = points.find('\n', start);
    lines.push_back(points.substr(start, end - start));
    start = end + 1;
  }
  // About 100 points plus every sample of the slowest 1%.
  EXPECT_GT(lines.size(), 190u);
  EXPECT_LT(lines.size(), 210u);
  EXPECT_EQ(lines.front(), "1.000 0.000100");
  EXPECT_EQ(lines.back(), "10000.000 1.000000");
  EXPECT_EQ(CdfPoints({}, 10), "");
}

TEST(PeerRowTest, NamesRowsAndRefusesUnknownOnes) {
  PeerContext context;
  absl::StatusOr<std::unique_ptr<PeerRow>> limit =
      MakePeerRow("local", context);
  ASSERT_TRUE(limit.ok()) << limit.status();
  EXPECT_EQ((*limit)->label(), "local");
  EXPECT_FALSE(MakePeerRow("nonsense", context).ok());
  EXPECT_FALSE(MakePeerRow("stream/carrier-pigeon", context).ok());
  EXPECT_FALSE(MakePeerRow("local/unix", context).ok());
  // Faultline rows need a broker, CRIU rows their toucher.
  EXPECT_FALSE(MakePeerRow("stream/unix", context).ok());
  EXPECT_FALSE(MakePeerRow("criu/lazy-pages", context).ok());
  context.toucher = "/bin/true";
  context.work_dir = "/tmp";
  EXPECT_TRUE(MakePeerRow("criu/page-server", context).ok());
}

TEST(FirstTouchTest, ProbesResidencyAndChecksThePattern) {
  constexpr uint64_t kPages = 8;
  void* mapped = ::mmap(nullptr, kPages * 4096, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mapped, MAP_FAILED);
  auto* base = static_cast<uint8_t*>(mapped);
  FillPattern(base, kPages / 2);  // the second half stays untouched
  FirstTouchRun run;
  ReserveFirstTouchRun(kPages, &run);
  TouchInOrder(base, {7, 0, 5, 1}, &run);
  EXPECT_EQ(run.waited, std::vector<uint8_t>({1, 0, 1, 0}));
  ASSERT_EQ(run.nanos.size(), 4u);
  EXPECT_EQ(MismatchedPages(base, kPages / 2), 0u);
  base[4096 + 17] ^= 1;
  EXPECT_EQ(MismatchedPages(base, kPages / 2), 1u);
  ::munmap(mapped, kPages * 4096);
}

TEST(ChildProcessTest, ReportsExitStatusAndOutput) {
  const std::string log = std::string(::testing::TempDir()) + "/child.log";
  ChildOptions options;
  options.argv = {"/bin/sh", "-c", "echo hello; exit 3"};
  options.log_path = log;
  absl::Status status = RunChild(options, absl::Seconds(30));
  EXPECT_THAT(std::string(status.message()), HasSubstr("status 3"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("hello"));
  options.argv = {"sleep", "30"};  // found on PATH
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Spawn(options);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_FALSE((*child)->Wait(absl::Milliseconds(50)).ok());
  (*child)->Stop();
  EXPECT_TRUE((*child)->Exited());
}

TEST(ChildProcessTest, CanBeInitOfANewPidNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "a new pid namespace needs root";
  const std::string log = std::string(::testing::TempDir()) + "/pidns.log";
  ChildOptions options;
  options.argv = {"/bin/sh", "-c", "echo pid=$$"};
  options.log_path = log;
  options.new_pid_namespace = true;
  ASSERT_TRUE(RunChild(options, absl::Seconds(30)).ok());
  EXPECT_EQ(ReadWholeFile(log), "pid=1\n");
}

}  // namespace
}  // namespace faultline::bench
