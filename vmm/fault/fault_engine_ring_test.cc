// The fault engine with the fault ring (--fault_ring=on: faults and answers
// as records in the staging file, gRPC for the rest), end to end against
// the real broker binary over its Unix socket: pages, zero pages, frames,
// retries and errors answered through the ring, checked byte for byte and
// by the ring's own indices in the file; and a broker killed with faults in
// the ring loses none of them.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "proto/faultline/v1/fault_ring.h"
#include "vmm/fault/fault_engine_test_fixture.h"

namespace faultline::vmm {
namespace {

namespace ring = ::faultline::v1::ring;
using ::testing::HasSubstr;

struct RingTraffic {
  uint32_t requests = 0;
  uint32_t answers = 0;
  uint32_t unread_requests = 0;  // put by the VMM, not taken by the broker
};

// The ring's indices as the broker's staging file in `dir` holds them now
// (records put in each direction since the session attached).
RingTraffic Traffic(const std::string& dir) {
  RingTraffic traffic;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("faultline-staging-", 0) != 0) continue;
    const int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat info;
    ring::Header header{};
    if (::fstat(fd, &info) == 0 &&
        static_cast<uint64_t>(info.st_size) > ring::kRingBytes) {
      (void)!::pread(fd, &header, sizeof(header),
                     info.st_size - static_cast<off_t>(ring::kRingBytes));
    }
    ::close(fd);
    if (header.magic != ring::kMagic) continue;
    traffic.requests += header.request_tail.value;
    traffic.answers += header.answer_tail.value;
    traffic.unread_requests +=
        header.request_tail.value - header.request_head.value;
  }
  return traffic;
}

class FaultEngineRingTest : public FaultEngineTest {
 protected:
  FaultEngineRingTest() { fault_ring_ = true; }
};

TEST_F(FaultEngineRingTest, PagesComeThroughTheRingVerifiedByteForByte) {
  ASSERT_TRUE(
      StartEngine({RamRegion(256, Pattern(31))}, RetryOptions(), 7).ok());
  TouchInBackground(kRamId, 0, 256, 2);
  JoinTouchers();
  EXPECT_EQ(PatternMismatches(31, 0, 256), 0u);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(PagesInstalledByAnswers(stats), 256u);
  EXPECT_EQ(stats.staged_pages, 256u);
  EXPECT_EQ(stats.rejected_answers, 0u);
  const RingTraffic traffic = Traffic(broker_->device_memory_dir());
  // Every fault went as a record and every answer came back as one.
  EXPECT_GE(traffic.requests, stats.faults);
  EXPECT_EQ(traffic.answers, stats.faults);
  EXPECT_FALSE(WaitForFatal(absl::ZeroDuration()).has_value());
}

TEST_F(FaultEngineRingTest, ZeroPagesAndRetriesComeThroughTheRing) {
  v1::Source zero;
  zero.mutable_zero();
  ASSERT_TRUE(StartEngine({RamRegion(64, zero)}, RetryOptions(), 3).ok());
  v1::InjectionRule rule;
  rule.set_region_id(kRamId);
  rule.set_count(3);
  rule.mutable_retry()->set_reason(v1::RETRY_REASON_BUSY);
  rule.mutable_retry()->set_delay_hint_us(1000);
  rule.mutable_retry()->set_detail("busy for a test");
  Inject(rule);
  TouchInBackground(kRamId, 0, 64, 1);
  JoinTouchers();
  const uint8_t* ram = Host(kRamId);
  for (uint64_t i = 0; i < 64 * kPage; ++i) ASSERT_EQ(ram[i], 0) << i;
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(stats.retries_by_reason.at(v1::RETRY_REASON_BUSY), 3u);
  EXPECT_GT(stats.zeros, 0u);
  const RingTraffic traffic = Traffic(broker_->device_memory_dir());
  EXPECT_EQ(traffic.answers, stats.faults + stats.retries);
  EXPECT_FALSE(WaitForFatal(absl::ZeroDuration()).has_value());
}

TEST_F(FaultEngineRingTest, FramesComeThroughTheRing) {
  ASSERT_TRUE(StartEngine({DeviceWindow("ringtest", 8)}).ok());
  uint8_t* bar = Host(kDeviceId);
  threads_.emplace_back([bar] {
    bar[3 * kPage + 5] = 0x42;
    (void)*static_cast<volatile uint8_t*>(bar + 11 * kPage);
  });
  JoinTouchers();
  EXPECT_EQ(bar[11 * kPage + 5], 0x42);  // frame 3 behind both pages
  EXPECT_EQ(engine_->stats().Snapshot().frames, 2u);
  EXPECT_EQ(Traffic(broker_->device_memory_dir()).answers, 2u);
}

TEST_F(FaultEngineRingTest, ErrorAnswersComeThroughTheRing) {
  ASSERT_TRUE(StartEngine({RamRegion(8, Pattern(3))}).ok());
  v1::InjectionRule rule;
  rule.set_region_id(kRamId);
  rule.mutable_error()->set_kind(v1::ERROR_KIND_BUS_ERROR);
  rule.mutable_error()->set_message("disk on fire");
  Inject(rule);
  TouchInBackground(kRamId, 1, 1, 1);
  std::optional<StopReason> fatal = WaitForFatal(absl::Seconds(20));
  ASSERT_TRUE(fatal.has_value());
  EXPECT_EQ(fatal->kind, StopKind::kBrokerErrorAnswer);
  EXPECT_THAT(fatal->message, HasSubstr("bus_error: disk on fire"));
  EXPECT_EQ(fatal->page, kRamBase + kPage);
  EXPECT_EQ(Traffic(broker_->device_memory_dir()).answers, 1u);
}

// Faults wait in the broker (a delay rule) and in the ring when the broker
// is killed; the VMM attaches to the new broker, gets a new ring and asks
// them all again there. Every byte must be the pattern's.
TEST_F(FaultEngineRingTest, BrokerRestartMidRingLosesNothing) {
  constexpr uint64_t kPages = 1024;
  ASSERT_TRUE(
      StartEngine({RamRegion(kPages, Pattern(32))}, RetryOptions(), 7).ok());
  ASSERT_NO_FATAL_FAILURE(KillBrokerMidRun(kPages, 64, 4, 4));
  EXPECT_EQ(PatternMismatches(32, 0, kPages), 0u);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_GE(stats.reconnects, 1u);
  EXPECT_GE(stats.resent, 4u);
  EXPECT_EQ(PagesInstalledByAnswers(stats), kPages);
  EXPECT_EQ(stats.staged_pages, kPages);
  EXPECT_EQ(stats.rejected_answers, 0u);
  EXPECT_EQ(engine_->faults_in_flight(), 0u);
  // The new broker's ring carried the faults asked again.
  EXPECT_GE(Traffic(broker_->device_memory_dir()).answers, 4u);
  EXPECT_FALSE(WaitForFatal(absl::ZeroDuration()).has_value());
}

// The broker hangs (SIGSTOP) while the guest faults: the requests wait in
// the ring, unread, when it is killed. The VMM asks them all again of the
// next broker.
TEST_F(FaultEngineRingTest,
       BrokerKilledWithRequestsUnreadInTheRingLosesNothing) {
  constexpr uint64_t kPages = 256;
  ASSERT_TRUE(StartEngine({RamRegion(kPages, Pattern(33))}).ok());
  TouchInBackground(kRamId, 0, 8, 1);
  JoinTouchers();
  const std::string dir = broker_->device_memory_dir();
  ASSERT_EQ(::kill(broker_->pid(), SIGSTOP), 0);
  TouchInBackground(kRamId, 8, kPages - 8, 4);
  uint32_t unread = 0;
  for (int i = 0; i < 500 && unread < 4; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
    unread = Traffic(dir).unread_requests;
  }
  ASSERT_GE(unread, 4u);
  broker_->Kill();
  ASSERT_TRUE(broker_->Start().ok());
  JoinTouchers();
  EXPECT_EQ(PatternMismatches(33, 0, kPages), 0u);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_GE(stats.resent, 4u);
  EXPECT_EQ(stats.pages, kPages);
  EXPECT_EQ(stats.rejected_answers, 0u);
  EXPECT_EQ(engine_->faults_in_flight(), 0u);
  EXPECT_FALSE(WaitForFatal(absl::ZeroDuration()).has_value());
}

}  // namespace
}  // namespace faultline::vmm
