#include "broker/data/fault_processor.h"

#include <atomic>
#include <map>
#include <set>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

// Counts reads; the first one waits until released, so that other faults
// on the page arrive while it is in flight.
class SlowCountingSource : public PageSource {
 public:
  void Answer(uint64_t /*offset*/, v1::FaultAnswer* answer) const override {
    if (calls_.fetch_add(1) == 0) {
      entered_.Notify();
      release_.WaitForNotificationWithTimeout(absl::Seconds(30));
    }
    answer->mutable_page()->set_data(std::string(v1::wire::kPageBytes, 'c'));
  }
  std::string Describe() const override { return "slow"; }

  mutable std::atomic<int> calls_{0};
  mutable absl::Notification entered_;
  absl::Notification release_;
};

struct Harness {
  Harness() : scheduler(2), processor(scheduler, injections, watchers, total) {
    auto region = std::make_unique<SessionRegion>();
    region->region.set_region_id(1);
    region->region.set_kind(v1::REGION_KIND_RAM);
    region->region.set_size_bytes(16 * v1::wire::kPageBytes);
    region->region.set_page_size(v1::wire::kPageBytes);
    auto owned = std::make_unique<SlowCountingSource>();
    source = owned.get();
    region->source = std::move(owned);
    std::map<uint32_t, std::unique_ptr<SessionRegion>> regions;
    regions[1] = std::move(region);
    Session::Identity identity;
    identity.id = "s";
    identity.serial = 1;
    v1::Limits limits;
    limits.set_max_faults_in_flight(100);
    session = std::make_shared<Session>(identity, limits, std::move(regions));
  }

  v1::FaultRequest Fault(uint64_t id, uint64_t offset) {
    v1::FaultRequest fault;
    fault.set_fault_id(id);
    fault.set_region_id(1);
    fault.set_offset(offset);
    return fault;
  }

  FairScheduler scheduler;
  InjectionTable injections;
  WatchHub watchers;
  FaultStats total;
  FaultProcessor processor;
  SlowCountingSource* source = nullptr;
  std::shared_ptr<Session> session;
};

TEST(FaultProcessorTest, ConcurrentFaultsOnOnePageAreServedOnce) {
  Harness h;
  absl::Mutex mu;
  std::vector<v1::FaultAnswer> answers;
  auto deliver = [&](v1::FaultAnswer answer) {
    absl::MutexLock lock(&mu);
    answers.push_back(std::move(answer));
  };
  h.processor.Process(h.session, h.Fault(1, 4096), deliver);
  ASSERT_TRUE(
      h.source->entered_.WaitForNotificationWithTimeout(absl::Seconds(30)));
  for (uint64_t id = 2; id <= 5; ++id) {
    h.processor.Process(h.session, h.Fault(id, 4096), deliver);
  }
  // All four wait behind the leader before it is let go.
  for (int i = 0; i < 3000 && h.session->single_flight().waiters() < 4; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(h.session->single_flight().waiters(), 4u);
  h.source->release_.Notify();
  absl::MutexLock lock(&mu);
  auto all_answered = [&answers] { return answers.size() == 5; };
  mu.AwaitWithTimeout(absl::Condition(&all_answered), absl::Seconds(30));
  ASSERT_EQ(answers.size(), 5u);
  EXPECT_EQ(h.source->calls_.load(), 1);
  std::set<uint64_t> ids;
  for (const auto& answer : answers) {
    EXPECT_EQ(answer.page().data(), std::string(v1::wire::kPageBytes, 'c'));
    EXPECT_EQ(answer.offset(), 4096u);
    ids.insert(answer.fault_id());
  }
  EXPECT_EQ(ids.size(), 5u) << "each follower gets its own fault id";
  EXPECT_EQ(h.session->quota().in_flight(), 0u);
}

TEST(FaultProcessorTest, InvalidFaultIsDeniedAndCounted) {
  Harness h;
  h.source->release_.Notify();
  v1::FaultAnswer answer;
  h.processor.Process(h.session, h.Fault(9, 16 * v1::wire::kPageBytes),
                      [&](v1::FaultAnswer a) { answer = std::move(a); });
  ASSERT_TRUE(answer.has_error());
  EXPECT_EQ(answer.error().kind(), v1::ERROR_KIND_DENIED);
  EXPECT_EQ(answer.fault_id(), 9u);
  v1::FaultCounters counters;
  h.session->stats().ToProto(&counters);
  EXPECT_EQ(counters.invalid_requests(), 1u);
}

TEST(FaultProcessorTest, InvalidResolveFailsTheCallAndIsCountedTheSame) {
  Harness h;
  h.source->release_.Notify();
  bool delivered = false;
  absl::Status refused = h.processor.Resolve(
      h.session, h.Fault(9, 100), [&](v1::FaultAnswer) { delivered = true; });
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("offset 100"), std::string::npos);
  EXPECT_FALSE(delivered);
  v1::FaultCounters counters;
  h.session->stats().ToProto(&counters);
  EXPECT_EQ(counters.invalid_requests(), 1u);
  EXPECT_EQ(counters.errors(), 1u);
}

TEST(FaultProcessorTest, StoppedSchedulerAnswersInterrupted) {
  Harness h;
  h.source->release_.Notify();
  h.scheduler.Stop();
  v1::FaultAnswer answer;
  h.processor.Process(h.session, h.Fault(3, 0),
                      [&](v1::FaultAnswer a) { answer = std::move(a); });
  ASSERT_TRUE(answer.has_retry());
  EXPECT_EQ(answer.retry().reason(), v1::RETRY_REASON_INTERRUPTED);
  EXPECT_GT(answer.retry().delay_hint_us(), 0u);
}

}  // namespace
}  // namespace faultline::broker
