// Test helper: the VMM's side of a session's fault ring, built from the
// protocol's own ring code (proto/base/shared_ring.h and the codec), so a
// service test can play the VMM over the real staging file. For tests only.
#ifndef FAULTLINE_BROKER_TEST_RING_H_
#define FAULTLINE_BROKER_TEST_RING_H_

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "proto/base/shared_ring.h"
#include "proto/faultline/v1/broker.pb.h"
#include "proto/faultline/v1/fault_ring.h"
#include "proto/faultline/v1/fault_ring_codec.h"

namespace faultline::broker::testing {

namespace ring = ::faultline::v1::ring;

inline constexpr uint64_t kRingGeneration = 1;
inline constexpr absl::Duration kRingWait = absl::Seconds(30);

// The VMM's mapping of the ring and of the slots.
class TestRing {
 public:
  explicit TestRing(const v1::StagingArea& area,
                    uint64_t generation = kRingGeneration)
      : area_(area), generation_(generation) {
    fd_ = ::open(area.path().c_str(), O_RDWR | O_CLOEXEC);
    EXPECT_GE(fd_, 0) << area.path();
    base_ = static_cast<char*>(::mmap(
        nullptr, area.fault_ring().size_bytes(), PROT_READ | PROT_WRITE,
        MAP_SHARED, fd_, static_cast<off_t>(area.fault_ring().offset())));
    EXPECT_NE(base_, MAP_FAILED);
    header_ = reinterpret_cast<ring::Header*>(base_);
    requests_.emplace(
        reinterpret_cast<ring::RequestRecord*>(base_ + ring::kRequestsOffset),
        ring::kRequestRecords, &header_->request_tail, &header_->request_head,
        0);
    answers_.emplace(reinterpret_cast<const ring::AnswerRecord*>(
                         base_ + ring::kAnswersOffset),
                     ring::kAnswerRecords, &header_->answer_tail,
                     &header_->answer_head, 0);
  }
  ~TestRing() {
    ::munmap(base_, area_.fault_ring().size_bytes());
    ::close(fd_);
  }

  void Put(const ring::RequestRecord& record) {
    ASSERT_TRUE(requests_->Room().ok());
    requests_->Put(record);
    requests_->Publish();
  }
  void Ask(uint64_t fault_id, uint32_t region_id, uint64_t offset,
           uint32_t prefetch = 0, std::vector<uint32_t> releases = {}) {
    v1::FaultRequest fault;
    fault.set_fault_id(fault_id);
    fault.set_region_id(region_id);
    fault.set_offset(offset);
    fault.set_attempt(1);
    fault.set_prefetch_hint(prefetch);
    Put(ring::EncodeRequest(generation_, &fault, releases));
  }

  // The next answer from the ring, waiting up to `timeout`.
  std::optional<v1::FaultAnswer> Next(absl::Duration timeout = kRingWait) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      ring::AnswerRecord record;
      absl::StatusOr<bool> took = answers_->Take(&record);
      EXPECT_TRUE(took.ok()) << took.status();
      if (!took.ok()) return std::nullopt;
      if (*took) {
        uint64_t generation = 0;
        absl::StatusOr<v1::FaultAnswer> answer =
            ring::DecodeAnswer(record, &generation);
        EXPECT_TRUE(answer.ok()) << answer.status();
        EXPECT_EQ(generation, generation_);
        return answer.ok() ? std::optional(*answer) : std::nullopt;
      }
      answers_->Wait(absl::ZeroDuration(), absl::Milliseconds(10));
    }
    return std::nullopt;
  }

  std::string Slot(uint32_t slot) const {
    std::string bytes(area_.slot_size(), '\0');
    EXPECT_EQ(::pread(fd_, bytes.data(), bytes.size(),
                      static_cast<off_t>(slot) * area_.slot_size()),
              static_cast<ssize_t>(bytes.size()));
    return bytes;
  }

  ring::Header* header() { return header_; }

 private:
  const v1::StagingArea area_;
  const uint64_t generation_;
  int fd_ = -1;
  char* base_ = nullptr;
  ring::Header* header_ = nullptr;
  std::optional<RingProducer<ring::RequestRecord>> requests_;
  std::optional<RingConsumer<ring::AnswerRecord>> answers_;
};

}  // namespace faultline::broker::testing

#endif  // FAULTLINE_BROKER_TEST_RING_H_
