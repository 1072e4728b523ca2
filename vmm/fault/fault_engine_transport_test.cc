// The fault engine over both of its transports, end to end against the real
// broker binary over its Unix socket: the Faults stream with the staging
// area, and the fault ring (--fault_ring=on: faults and answers as records
// in the staging file, gRPC for the rest). Each case runs on both; on the
// ring it also checks, by the ring's own indices in the file, that faults
// and answers went through it. A ring-only case: a broker killed with
// faults unread in the ring loses none of them.
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

// The ring's indices as the broker's staging files in `dir` hold them now
// (records put in each direction since the session attached), and how many
// staging files there are.
RingTraffic Traffic(const std::string& dir, int* files = nullptr) {
  RingTraffic traffic;
  if (files != nullptr) *files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("faultline-staging-", 0) != 0) continue;
    if (files != nullptr) ++*files;
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

enum class Transport { kStream, kRing };

class FaultEngineTransportTest
    : public FaultEngineTest,
      public ::testing::WithParamInterface<Transport> {
 protected:
  FaultEngineTransportTest() { fault_ring_ = ring(); }

  bool ring() const { return GetParam() == Transport::kRing; }
  RingTraffic Traffic() const {
    return ::faultline::vmm::Traffic(broker_->device_memory_dir());
  }
};

TEST_P(FaultEngineTransportTest, PagesArriveVerifiedByteForByte) {
  ASSERT_TRUE(
      StartEngine({RamRegion(256, Pattern(31))}, RetryOptions(), 7).ok());
  int files = 0;
  (void)::faultline::vmm::Traffic(broker_->device_memory_dir(), &files);
  EXPECT_EQ(files, 1);
  TouchInBackground(kRamId, 0, 256, 4);
  JoinTouchers();
  EXPECT_EQ(PatternMismatches(31, 0, 256), 0u);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(PagesInstalledByAnswers(stats), 256u);
  // 1024 slots, released as they are used: every page came through one.
  EXPECT_EQ(stats.staged_pages, 256u);
  EXPECT_EQ(stats.rejected_answers, 0u);
  if (ring()) {
    // Every fault went as a record and every answer came back as one.
    const RingTraffic traffic = Traffic();
    EXPECT_GE(traffic.requests, stats.faults);
    EXPECT_EQ(traffic.answers, stats.faults);
  }
  EXPECT_FALSE(WaitForFatal(absl::ZeroDuration()).has_value());
  // Detach removes the area.
  engine_.reset();
  (void)::faultline::vmm::Traffic(broker_->device_memory_dir(), &files);
  EXPECT_EQ(files, 0);
}

TEST_P(FaultEngineTransportTest, ZeroPagesAndRetriesAreAnswered) {
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
  EXPECT_EQ(stats.retries, 3u);
  EXPECT_EQ(stats.retries_by_reason.at(v1::RETRY_REASON_BUSY), 3u);
  EXPECT_GT(stats.zeros, 0u);
  if (ring()) {
    EXPECT_EQ(Traffic().answers, stats.faults + stats.retries);
  }
  EXPECT_FALSE(WaitForFatal(absl::ZeroDuration()).has_value());
}

TEST_P(FaultEngineTransportTest, FramesAreMappedSharedWithTheDevice) {
  const v1::Region window = DeviceWindow("enginetest", 8);
  ASSERT_TRUE(StartEngine({window}).ok());

  v1::WriteFramesRequest write;
  write.set_pool("enginetest");
  write.set_first_frame(3);
  write.set_data(std::string(kPage, '\x77'));
  {
    grpc::ClientContext context;
    v1::WriteFramesResponse response;
    ASSERT_TRUE(admin_->WriteFrames(&context, write, &response).ok());
  }
  uint8_t* bar = Host(kDeviceId);
  threads_.emplace_back([bar] {
    (void)*static_cast<volatile uint8_t*>(bar + 3 * kPage);
    bar[11 * kPage + 5] = 0x42;  // page 11 is frame 3 again (identity mod 8)
    // Frame 4 was never written (a hole in the file): both pages must still
    // be one frame.
    (void)*static_cast<volatile uint8_t*>(bar + 4 * kPage);
    (void)*static_cast<volatile uint8_t*>(bar + 12 * kPage);
    bar[4 * kPage + 9] = 0x24;
  });
  JoinTouchers();
  EXPECT_EQ(bar[3 * kPage], 0x77);
  EXPECT_EQ(bar[3 * kPage + 5], 0x42);  // one frame behind both pages
  EXPECT_EQ(bar[12 * kPage + 9], 0x24);

  v1::ReadFramesRequest read;
  read.set_pool("enginetest");
  read.set_first_frame(3);
  read.set_frame_count(1);
  grpc::ClientContext context;
  v1::ReadFramesResponse frames;
  ASSERT_TRUE(admin_->ReadFrames(&context, read, &frames).ok());
  ASSERT_EQ(frames.data().size(), kPage);
  EXPECT_EQ(static_cast<uint8_t>(frames.data()[5]), 0x42);
  EXPECT_EQ(engine_->stats().Snapshot().frames, 4u);
  if (ring()) {
    EXPECT_EQ(Traffic().answers, 4u);
  }
  // The device model hears of every page that became available.
  const std::vector<DevicePageEvent> events = DevicePages();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kind, DevicePageEvent::Kind::kAvailable);
  EXPECT_EQ(events[0].region_id, kDeviceId);
  EXPECT_EQ(events[0].offset, 3 * kPage);
  EXPECT_EQ(events[0].frame, 3u);
}

TEST_P(FaultEngineTransportTest, ErrorAnswerStopsNamingPageAndKind) {
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
  EXPECT_THAT(fatal->message, HasSubstr("guest-physical page 0x201000"));
  EXPECT_THAT(fatal->message, HasSubstr("region 'ram'"));
  EXPECT_EQ(fatal->page, kRamBase + kPage);
  EXPECT_EQ(engine_->stats().Snapshot().errors, 1u);
  if (ring()) {
    EXPECT_EQ(Traffic().answers, 1u);
  }
}

// Prefetched answers before the kill, faults waiting in the broker (a delay
// rule) and on the transport when it is killed; the VMM attaches to the new
// broker, gets a new area (and ring) and asks them all again there. Every
// byte must be the pattern's, and none read from the dead broker's slots.
TEST_P(FaultEngineTransportTest, BrokerRestartMidRunLosesNothing) {
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
  if (ring()) {
    EXPECT_GE(Traffic().answers, 4u);
  }
  EXPECT_FALSE(WaitForFatal(absl::ZeroDuration()).has_value());
}

INSTANTIATE_TEST_SUITE_P(Transports, FaultEngineTransportTest,
                         ::testing::Values(Transport::kStream,
                                           Transport::kRing),
                         [](const ::testing::TestParamInfo<Transport>& info) {
                           return info.param == Transport::kRing ? "ring"
                                                                 : "stream";
                         });

class FaultEngineRingTest : public FaultEngineTest {
 protected:
  FaultEngineRingTest() { fault_ring_ = true; }
};

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
