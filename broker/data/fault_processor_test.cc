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

// Answers runs at once, as a remote store does, and records each run asked
// for; the page at `retry_at` answers retry.
class RunSource : public PageSource {
 public:
  void Answer(uint64_t offset, v1::FaultAnswer* answer) const override {
    if (offset == retry_at) {
      answer->mutable_retry()->set_reason(v1::RETRY_REASON_BUSY);
    } else {
      answer->mutable_page()->set_data(
          std::string(v1::wire::kPageBytes, static_cast<char>(offset >> 12)));
    }
  }
  void AnswerRun(uint64_t offset, uint32_t count,
                 std::vector<v1::FaultAnswer>* answers) const override {
    runs.emplace_back(offset, count);
    for (uint32_t i = 0; i < count; ++i) {
      Answer(offset + i * v1::wire::kPageBytes, &answers->emplace_back());
    }
  }
  std::string Describe() const override { return "runs"; }
  bool MayBlock() const override { return false; }

  uint64_t retry_at = ~uint64_t{0};
  mutable std::vector<std::pair<uint64_t, uint32_t>> runs;
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

TEST(FaultProcessorTest, PrefetchIsOneRunClippedToTheRegion) {
  Harness h;
  auto owned = std::make_unique<RunSource>();
  RunSource* source = owned.get();
  h.session->FindRegion(1)->source = std::move(owned);
  const uint64_t page = v1::wire::kPageBytes;
  auto ask = [&h](const v1::FaultRequest& fault) {
    v1::FaultAnswer answer;
    absl::Notification done;
    h.processor.Process(h.session, fault, [&](v1::FaultAnswer a) {
      answer = std::move(a);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    return answer;
  };
  v1::FaultRequest fault = h.Fault(1, 2 * page);
  fault.set_prefetch_hint(15);
  v1::FaultAnswer answer = ask(fault);
  ASSERT_TRUE(answer.has_page());
  EXPECT_EQ(answer.page().data()[0], 2);
  ASSERT_EQ(answer.extra_pages_size(), 13);  // up to the region's 16th page
  EXPECT_EQ(answer.extra_pages(12).offset(), 15 * page);
  EXPECT_EQ(answer.extra_pages(12).data()[0], 15);

  // A page that is not page or zero ends the prefetch; no hint, one page.
  source->retry_at = 6 * page;
  fault = h.Fault(2, 4 * page);
  fault.set_prefetch_hint(200);  // clamped to the protocol's cap
  answer = ask(fault);
  ASSERT_EQ(answer.extra_pages_size(), 1);
  EXPECT_EQ(answer.extra_pages(0).offset(), 5 * page);
  answer = ask(h.Fault(3, 0));
  EXPECT_EQ(answer.extra_pages_size(), 0);
  const std::vector<std::pair<uint64_t, uint32_t>> want = {
      {2 * page, 14}, {4 * page, 12}, {0, 1}};
  EXPECT_EQ(source->runs, want) << "one source call per fault";
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
