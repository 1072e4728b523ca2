// The fault engine with the broker's staging area (page bytes through shared
// memory, gRPC as the control channel), end to end against the real broker
// binary: staging off, prefetch through slots, a small area that runs out
// and falls back inline while released slots come back, and a broker
// restart with thousands of slot reuses after it. (Pages verified through
// the area on each transport: fault_engine_transport_test.cc.)
#include <filesystem>

#include "vmm/fault/fault_engine_test_fixture.h"

namespace faultline::vmm {
namespace {

using Staging = BrokerTransport::Staging;

int StagingFiles(const std::string& dir) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("faultline-staging-", 0) == 0) {
      ++files;
    }
  }
  return files;
}

TEST_F(FaultEngineTest, StagingOffSendsPagesInline) {
  ASSERT_TRUE(StartEngine({RamRegion(64, Pattern(22))}, RetryOptions(), 0,
                          Staging::kOff)
                  .ok());
  EXPECT_EQ(StagingFiles(broker_->device_memory_dir()), 0);
  TouchInBackground(kRamId, 0, 64, 2);
  JoinTouchers();
  EXPECT_EQ(PatternMismatches(22, 0, 64), 0u);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(PagesInstalledByAnswers(stats), 64u);
  EXPECT_EQ(stats.staged_pages, 0u);
}

TEST_F(FaultEngineTest, PrefetchedPagesComeThroughSlots) {
  ASSERT_TRUE(
      StartEngine({RamRegion(512, Pattern(23))}, RetryOptions(), 15).ok());
  TouchInBackground(kRamId, 0, 512, 2);
  JoinTouchers();
  EXPECT_EQ(PatternMismatches(23, 0, 512), 0u);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_GT(stats.extra_pages, 0u);
  // Every page was installed once, from a slot (an answer may also name a
  // page another answer installed first: that copy finds it there).
  EXPECT_EQ(stats.staged_pages, 512u);
}

TEST_F(FaultEngineTest, SmallAreaFallsBackInlineAndReusesReleasedSlots) {
  broker_->Stop();
  broker_->set_extra_flags({"--staging_slots=8"});
  ASSERT_TRUE(broker_->Start().ok());
  ASSERT_TRUE(
      StartEngine({RamRegion(512, Pattern(24))}, RetryOptions(), 31).ok());
  TouchInBackground(kRamId, 0, 512, 1);
  JoinTouchers();
  EXPECT_EQ(PatternMismatches(24, 0, 512), 0u);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(PagesInstalledByAnswers(stats), 512u);
  // Answers of up to 32 pages outgrow 8 slots (the rest went inline), and
  // more than 8 staged pages means released slots were used again.
  EXPECT_LT(stats.staged_pages, 512u);
  EXPECT_GT(stats.staged_pages, 8u);
  EXPECT_EQ(stats.rejected_answers, 0u);
}

// The e2e case's shape (broker_restart_test): prefetched answers through
// slots before the kill, faults in flight across it, then thousands of slot
// reuses in the new broker's area. Every byte must be the pattern's.
TEST_F(FaultEngineTest, BrokerRestartWithPrefetchThroughSlotsLosesNothing) {
  constexpr uint64_t kPages = 4096;
  constexpr uint64_t kBefore = 512;
  ASSERT_TRUE(
      StartEngine({RamRegion(kPages, Pattern(26))}, RetryOptions(), 7).ok());
  ASSERT_NO_FATAL_FAILURE(KillBrokerMidRun(kPages, kBefore, 1, 1));
  EXPECT_EQ(PatternMismatches(26, 0, kPages), 0u);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_GE(stats.reconnects, 1u);
  EXPECT_EQ(PagesInstalledByAnswers(stats), kPages);
  EXPECT_EQ(stats.staged_pages, kPages);
  EXPECT_EQ(stats.rejected_answers, 0u);
  EXPECT_EQ(engine_->faults_in_flight(), 0u);
  EXPECT_FALSE(WaitForFatal(absl::ZeroDuration()).has_value());
}

}  // namespace
}  // namespace faultline::vmm
