#include "broker/data/ring_reader.h"

#include <sys/mman.h>

#include <atomic>
#include <memory>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "proto/base/shared_ring.h"
#include "proto/faultline/v1/fault_ring.h"
#include "proto/faultline/v1/fault_ring_codec.h"

namespace faultline::broker {
namespace {

namespace ring = ::faultline::v1::ring;

constexpr uint64_t kGeneration = 1;

// A ring in anonymous memory, with the VMM's side as a plain producer.
class RingReaderTest : public ::testing::Test {
 protected:
  RingReaderTest()
      : memory_(static_cast<char*>(::mmap(nullptr, ring::kRingBytes,
                                          PROT_READ | PROT_WRITE,
                                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))),
        header_(reinterpret_cast<ring::Header*>(memory_)),
        producer_(reinterpret_cast<ring::RequestRecord*>(memory_ +
                                                         ring::kRequestsOffset),
                  ring::kRequestRecords, &header_->request_tail,
                  &header_->request_head, 0) {
    header_->magic = ring::kMagic;
    header_->layout_version = ring::kLayoutVersion;
    header_->request_records = ring::kRequestRecords;
    header_->answer_records = ring::kAnswerRecords;
    ring_ = std::make_shared<SessionRing>(memory_);
  }
  ~RingReaderTest() override { ::munmap(memory_, ring::kRingBytes); }

  void SendFault(uint64_t fault_id) {
    v1::FaultRequest fault;
    fault.set_fault_id(fault_id);
    fault.set_region_id(1);
    fault.set_attempt(1);
    producer_.Put(ring::EncodeRequest(kGeneration, &fault, {}));
    producer_.Publish();
  }

  char* const memory_;
  ring::Header* const header_;
  RingProducer<ring::RequestRecord> producer_;
  std::shared_ptr<SessionRing> ring_;
};

TEST_F(RingReaderTest, FaultsOfItsStreamReachTheCallback) {
  std::atomic<int> faults{0};
  RingReader::Callbacks callbacks;
  callbacks.release = [](const std::vector<uint32_t>&) {};
  callbacks.fault = [&faults](const v1::FaultRequest&) { ++faults; };
  callbacks.broken = [](const absl::Status&) {};
  RingReader reader(ring_, kGeneration, std::move(callbacks));
  for (uint64_t id = 1; id <= 3; ++id) SendFault(id);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (faults.load() < 3 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(faults.load(), 3);
}

// The stream may end on the reader's own thread: the callback destroys the
// reader (as a stream's end does), and its thread must then touch nothing
// of the reader's and call nothing more.
TEST_F(RingReaderTest, AReaderDestroyedFromItsOwnCallbackEndsCleanly) {
  auto reader = std::make_shared<std::unique_ptr<RingReader>>();
  std::atomic<int> faults{0};
  absl::Notification destroyed;
  RingReader::Callbacks callbacks;
  callbacks.release = [](const std::vector<uint32_t>&) {};
  callbacks.fault = [reader, &faults, &destroyed](const v1::FaultRequest&) {
    ++faults;
    reader->reset();  // Stop() on its own thread, then freed
    destroyed.Notify();
  };
  callbacks.broken = [](const absl::Status&) {};
  *reader =
      std::make_unique<RingReader>(ring_, kGeneration, std::move(callbacks));
  SendFault(1);
  SendFault(2);
  ASSERT_TRUE(destroyed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // Give the detached thread its turn: it sees the flag and gives the
  // consumer back without taking the second record.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!ring_->TryAcquire(kGeneration) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(faults.load(), 1);
  ring_->Relinquish(kGeneration);
}

// A throttled reader takes nothing until it is resumed, and the resume it
// was given works after the reader is gone.
TEST_F(RingReaderTest, AThrottledReaderWaitsForItsResume) {
  std::atomic<int> faults{0};
  std::atomic<bool> allow{false};
  absl::Mutex mu;
  std::function<void()> kept;
  RingReader::Callbacks callbacks;
  callbacks.release = [](const std::vector<uint32_t>&) {};
  callbacks.fault = [&faults](const v1::FaultRequest&) { ++faults; };
  callbacks.broken = [](const absl::Status&) {};
  callbacks.may_take = [&](const std::function<void()>& resume) {
    if (allow.load()) return true;
    absl::MutexLock lock(&mu);
    kept = resume;
    return false;
  };
  auto reader =
      std::make_unique<RingReader>(ring_, kGeneration, std::move(callbacks));
  SendFault(1);
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(faults.load(), 0);
  allow.store(true);
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(kept != nullptr);
    kept();
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (faults.load() < 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(faults.load(), 1);
  reader.reset();
  absl::MutexLock lock(&mu);
  kept();  // a late resume from the throttle finds nothing to wake
}

}  // namespace
}  // namespace faultline::broker
