// Background fill, working-set record and replay, and adaptive prefetch,
// end to end: the real broker binary, a real userfaultfd region, host
// threads in place of vCPUs. Every wait is bounded.
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "vmm/fault/fault_engine_test_fixture.h"

namespace faultline::vmm {
namespace {

constexpr uint64_t kMarker = 0x5752495454454e21;  // "WRITTEN!"

class BackgroundFillTest : public FaultEngineTest {
 protected:
  // Waits (bounded) until the fill has run out of pages.
  bool WaitForFill() {
    for (int i = 0; i < 3000; ++i) {
      if (engine_->fill_done()) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }

  std::set<uint64_t> ResidentPages(uint64_t pages) {
    std::vector<unsigned char> vector(pages);
    EXPECT_EQ(::mincore(Host(kRamId), pages * kPage, vector.data()), 0);
    std::set<uint64_t> resident;
    for (uint64_t page = 0; page < pages; ++page) {
      if (vector[page] & 1) resident.insert(page);
    }
    return resident;
  }

  // Writes kMarker into the first word of each of `pages` (faulting them in
  // first), from one thread, and joins it.
  void WriteMarkers(const std::vector<uint64_t>& pages) {
    uint8_t* base = Host(kRamId);
    threads_.emplace_back([base, pages] {
      for (uint64_t page : pages) {
        *reinterpret_cast<volatile uint64_t*>(base + page * kPage) = kMarker;
      }
    });
    JoinTouchers();
  }

  uint64_t FirstWord(uint64_t page) {
    uint64_t word;
    std::memcpy(&word, Host(kRamId) + page * kPage, sizeof(word));
    return word;
  }

  std::string TempPath(const std::string& name) {
    return dir_.empty() ? (dir_ = MakeShortTempDir()) + "/" + name
                        : dir_ + "/" + name;
  }

  std::string dir_;
};

std::vector<uint64_t> LastPages(uint64_t pages, uint64_t count,
                                uint64_t stride) {
  std::vector<uint64_t> last;
  for (uint64_t i = 0; i < count; ++i) last.push_back(pages - 1 - i * stride);
  return last;
}

TEST_F(BackgroundFillTest, FillsEveryPageOnceAndLeavesWrittenPagesAlone) {
  constexpr uint64_t kPages = 1024;
  fill_options_.address_order = true;
  fill_options_.pages_per_second = 4000;  // slow: the writes come first
  fill_options_.probe_residency = false;  // ask for all: meet EEXIST
  ASSERT_TRUE(StartEngine({RamRegion(kPages, Pattern(7))}).ok());
  const std::vector<uint64_t> written = LastPages(kPages, 20, 3);
  WriteMarkers(written);
  ASSERT_TRUE(WaitForFill());

  EXPECT_EQ(ResidentPages(kPages).size(), kPages);
  const std::set<uint64_t> written_set(written.begin(), written.end());
  for (uint64_t page = 0; page < kPages; ++page) {
    if (written_set.count(page) > 0) {
      EXPECT_EQ(FirstWord(page), kMarker) << "page " << page;
    } else {
      EXPECT_EQ(PatternMismatches(7, page, 1), 0u) << "page " << page;
    }
  }
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  // Every page was asked for by the fill exactly once: installed by it, or
  // found present (a fault got it first, EEXIST) and left alone.
  EXPECT_EQ(stats.fill_pages + stats.fill_already_present, kPages);
  EXPECT_GE(stats.fill_already_present, written.size());
  EXPECT_EQ(stats.fill_retries, 0u);
  // And every page was installed exactly once, by the fill or a fault.
  EXPECT_EQ(stats.fill_pages + PagesInstalledByAnswers(stats), kPages);
  EXPECT_FALSE(WaitForFatal(absl::ZeroDuration()).has_value());
}

TEST_F(BackgroundFillTest, SeveralAsksInFlightStillInstallEachPageOnce) {
  constexpr uint64_t kPages = 2048;
  fill_options_.address_order = true;
  fill_options_.asks_in_flight = 4;
  fill_options_.max_run_pages = 16;
  fill_options_.probe_residency = false;
  ASSERT_TRUE(StartEngine({RamRegion(kPages, Pattern(8))}).ok());
  TouchInBackground(kRamId, kPages / 2, kPages / 4, 2);
  JoinTouchers();
  ASSERT_TRUE(WaitForFill());
  EXPECT_EQ(ResidentPages(kPages).size(), kPages);
  EXPECT_EQ(PatternMismatches(8, 0, kPages), 0u);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(stats.fill_pages + stats.fill_already_present, kPages);
  EXPECT_EQ(stats.fill_pages + PagesInstalledByAnswers(stats), kPages);
}

TEST_F(BackgroundFillTest, ZeroPagesGoInBatchesAroundWrittenOnes) {
  constexpr uint64_t kPages = 512;
  v1::Source zero;
  zero.mutable_zero();
  fill_options_.address_order = true;
  fill_options_.pages_per_second = 4000;
  fill_options_.probe_residency = false;
  ASSERT_TRUE(StartEngine({RamRegion(kPages, zero)}).ok());
  const std::vector<uint64_t> written = LastPages(kPages, 10, 5);
  WriteMarkers(written);
  ASSERT_TRUE(WaitForFill());
  EXPECT_EQ(ResidentPages(kPages).size(), kPages);
  const std::set<uint64_t> written_set(written.begin(), written.end());
  for (uint64_t page = 0; page < kPages; ++page) {
    EXPECT_EQ(FirstWord(page), written_set.count(page) ? kMarker : 0u)
        << "page " << page;
  }
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(stats.fill_zero_pages + stats.fill_already_present, kPages);
  EXPECT_EQ(stats.fill_pages, 0u);
  // Runs of 65 pages: a handful of asks, not one per page.
  EXPECT_LE(stats.fill_asks, kPages / 65 + 1 + written.size());
}

TEST_F(BackgroundFillTest, ResidentPagesAreNotAskedFor) {
  constexpr uint64_t kPages = 256;
  fill_options_.address_order = true;
  fill_options_.pages_per_second = 2000;
  ASSERT_TRUE(StartEngine({RamRegion(kPages, Pattern(5))}).ok());
  WriteMarkers(LastPages(kPages, 8, 1));
  ASSERT_TRUE(WaitForFill());
  EXPECT_EQ(ResidentPages(kPages).size(), kPages);
  EXPECT_EQ(PatternMismatches(5, 0, kPages - 8), 0u);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(stats.fill_pages + PagesInstalledByAnswers(stats), kPages);
}

TEST_F(BackgroundFillTest, GuestFaultsAreServedWhileTheFillRuns) {
  constexpr uint64_t kPages = 2048;
  fill_options_.address_order = true;
  fill_options_.pages_per_second = 1000;  // two seconds for all
  ASSERT_TRUE(StartEngine({RamRegion(kPages, Pattern(9))}).ok());
  TouchInBackground(kRamId, kPages / 2, kPages / 2, 2);
  JoinTouchers();
  EXPECT_EQ(PatternMismatches(9, kPages / 2, kPages / 2), 0u);
  EXPECT_FALSE(engine_->fill_done());  // the faults did not wait for it
  ASSERT_TRUE(WaitForFill());
  EXPECT_EQ(PatternMismatches(9, 0, kPages), 0u);
}

TEST_F(BackgroundFillTest, ReplayInstallsExactlyTheRecordedPages) {
  constexpr uint64_t kPages = 512;
  // Out of order, with runs and lone pages, as a guest's faults come.
  const std::vector<uint64_t> recorded = {300, 301, 302, 303, 7,   8,  100,
                                          450, 451, 2,   3,   4,   5,  6,
                                          200, 511, 510, 9,   260, 261};
  for (uint64_t page : recorded) {
    fill_options_.replay.push_back(WorkingSetPage{kRamId, page * kPage});
  }
  ASSERT_TRUE(StartEngine({RamRegion(kPages, Pattern(4))}).ok());
  ASSERT_TRUE(WaitForFill());
  const std::set<uint64_t> want(recorded.begin(), recorded.end());
  EXPECT_EQ(ResidentPages(kPages), want);
  for (uint64_t page : recorded) {
    EXPECT_EQ(PatternMismatches(4, page, 1), 0u) << "page " << page;
  }
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(stats.fill_pages, recorded.size());
  EXPECT_EQ(stats.faults, 0u);
}

TEST_F(BackgroundFillTest, RecordsFaultedPagesAndTheirPrefetchInOrder) {
  const std::string path = TempPath("working-set");
  auto recorder = WorkingSetRecorder::Create(path);
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  record_ = *std::move(recorder);
  ASSERT_TRUE(StartEngine({RamRegion(64, Pattern(2))}, RetryOptions(), 2).ok());
  for (uint64_t page : {40, 10, 20}) {
    TouchInBackground(kRamId, page, 1, 1);
    JoinTouchers();
  }
  engine_.reset();  // writes the record
  std::vector<v1::Region> regions = {RamRegion(64, Pattern(2))};
  auto pages = ReadWorkingSet(path, regions);
  ASSERT_TRUE(pages.ok()) << pages.status();
  std::vector<uint64_t> order;
  for (const WorkingSetPage& page : *pages)
    order.push_back(page.offset / kPage);
  EXPECT_THAT(order,
              ::testing::ElementsAre(40, 41, 42, 10, 11, 12, 20, 21, 22));
}

TEST_F(BackgroundFillTest, AdaptivePrefetchCutsSequentialFaults) {
  constexpr uint64_t kPages = 1024;
  prefetch_adaptive_ = true;
  ASSERT_TRUE(
      StartEngine({RamRegion(kPages, Pattern(6))}, RetryOptions(), 7).ok());
  TouchInBackground(kRamId, 0, kPages, 1);
  JoinTouchers();
  EXPECT_EQ(PatternMismatches(6, 0, kPages), 0u);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  // A fixed window of 7 takes 128 faults; the window grows to 64.
  EXPECT_LT(stats.faults, kPages / 8 / 2);
  std::printf("adaptive prefetch: %lu faults for %lu pages\n",
              static_cast<unsigned long>(stats.faults),
              static_cast<unsigned long>(kPages));
}

}  // namespace
}  // namespace faultline::vmm
