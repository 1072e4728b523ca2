#include "vmm/fault/fault_table.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

class FakeClock : public Clock {
 public:
  absl::Time Now() const override { return now_; }
  void Advance(absl::Duration by) { now_ += by; }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1000);
};

NewFault PageAt(uint64_t host_page, uint64_t offset = 0) {
  NewFault fault;
  fault.region_id = 1;
  fault.offset = offset;
  fault.host_page = host_page;
  return fault;
}

v1::FaultAnswer AnswerTo(uint64_t id) {
  v1::FaultAnswer answer;
  answer.set_fault_id(id);
  answer.mutable_zero();
  return answer;
}

v1::FaultAnswer RetryTo(uint64_t id) {
  v1::FaultAnswer answer;
  answer.set_fault_id(id);
  answer.mutable_retry();
  return answer;
}

class FaultTableTest : public ::testing::Test {
 protected:
  RetryOptions Retry() {
    RetryOptions retry;
    retry.budget = 2;
    retry.deadline = absl::Seconds(10);
    return retry;
  }
  FakeClock clock_;
  FaultTable table_{Retry(), &clock_};
};

TEST_F(FaultTableTest, EventsForAPageInFlightCoalesce) {
  const std::optional<uint64_t> first = table_.Add(PageAt(0x1000));
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(table_.Add(PageAt(0x1000)).has_value());
  const std::optional<uint64_t> other = table_.Add(PageAt(0x2000));
  ASSERT_TRUE(other.has_value());
  EXPECT_NE(*first, *other);
  EXPECT_EQ(table_.size(), 2u);
  clock_.Advance(absl::Milliseconds(3));
  EXPECT_EQ(table_.Resolve(*first), absl::Milliseconds(3));
  EXPECT_FALSE(table_.Resolve(*first).has_value()) << "resolved once";
  EXPECT_TRUE(table_.Add(PageAt(0x1000)).has_value()) << "a new fault";
}

TEST_F(FaultTableTest, AttemptsCountUpAndStreamsResendWhatTheyHaveNotSeen) {
  const uint64_t a = *table_.Add(PageAt(0x1000));
  const uint64_t b = *table_.Add(PageAt(0x2000));
  EXPECT_EQ(table_.NextAttempt(a)->attempt, 1u);
  table_.MarkSent(a, 1);
  uint64_t resent = 0;
  // Stream 1 has not seen b (its send found no stream).
  EXPECT_THAT(table_.UnsentOn(1, &resent), ElementsAre(b));
  EXPECT_EQ(resent, 0u);
  // Stream 2 has seen neither: a is a resend.
  EXPECT_THAT(table_.UnsentOn(2, &resent), UnorderedElementsAre(a, b));
  EXPECT_EQ(resent, 1u);
  EXPECT_EQ(table_.NextAttempt(a)->attempt, 2u);
  ASSERT_TRUE(table_.Resolve(a).has_value());
  EXPECT_FALSE(table_.NextAttempt(a).has_value());
}

TEST_F(FaultTableTest, AnswersForFaultsNotInFlightAreStale) {
  const uint64_t id = *table_.Add(PageAt(0x1000));
  EXPECT_TRUE(table_.Find(AnswerTo(id)).has_value());
  EXPECT_FALSE(table_.Find(AnswerTo(id + 100)).has_value()) << "unknown id";
  ASSERT_TRUE(
      table_.ScheduleRetry(id, absl::ZeroDuration(), "busy")->scheduled);
  // Waiting to ask again: a second retry is a resend answered twice, but
  // a real answer still lands.
  EXPECT_FALSE(table_.Find(RetryTo(id)).has_value());
  EXPECT_TRUE(table_.Find(AnswerTo(id)).has_value());
  table_.Resolve(id);
  EXPECT_FALSE(table_.Find(AnswerTo(id)).has_value()) << "answered twice";
}

TEST_F(FaultTableTest, RetriesComeDueOnTheClockAndGiveUpPastTheBudget) {
  const uint64_t id = *table_.Add(PageAt(0x1000));
  std::optional<FaultTable::RetryOutcome> first =
      table_.ScheduleRetry(id, absl::Milliseconds(5), "busy (page written)");
  ASSERT_TRUE(first->scheduled);
  EXPECT_EQ(first->fault.last_reason, "busy (page written)");
  EXPECT_EQ(table_.NextWakeup(clock_.Now() + absl::Seconds(1)),
            clock_.Now() + absl::Milliseconds(5));
  EXPECT_THAT(table_.TakeDueRetries(), IsEmpty());
  uint64_t resent = 0;
  EXPECT_THAT(table_.UnsentOn(1, &resent), IsEmpty())
      << "a fault waiting to retry is not resent";
  clock_.Advance(absl::Milliseconds(5));
  EXPECT_THAT(table_.TakeDueRetries(), ElementsAre(id));
  EXPECT_THAT(table_.TakeDueRetries(), IsEmpty()) << "taken once";

  ASSERT_TRUE(
      table_.ScheduleRetry(id, absl::ZeroDuration(), "busy")->scheduled);
  std::optional<FaultTable::RetryOutcome> spent =
      table_.ScheduleRetry(id, absl::ZeroDuration(), "over_quota");
  ASSERT_TRUE(spent.has_value());
  EXPECT_FALSE(spent->scheduled);
  EXPECT_THAT(spent->why, HasSubstr("retry budget of 2"));
  EXPECT_EQ(spent->fault.last_reason, "over_quota");
  EXPECT_FALSE(table_.ScheduleRetry(id + 1, absl::ZeroDuration(), "x"))
      << "no such fault";
}

TEST_F(FaultTableTest, DeadlinesPassOnTheClock) {
  const uint64_t id = *table_.Add(PageAt(0x1000));
  clock_.Advance(absl::Seconds(10));
  EXPECT_FALSE(table_.PastDeadline().has_value()) << "at the deadline";
  clock_.Advance(absl::Milliseconds(1));
  const std::optional<PendingFault> late = table_.PastDeadline();
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->id, id);
  EXPECT_EQ(late->last_reason, "waiting for the broker's answer");
}

TEST_F(FaultTableTest, PrefetchedPagesServeTheirFaults) {
  const uint64_t asked = *table_.Add(PageAt(0x1000));
  const uint64_t waiting = *table_.Add(PageAt(0x2000, 0x1000));
  table_.ResolvePages({0x2000, 0x9000});
  EXPECT_FALSE(table_.Find(AnswerTo(waiting)).has_value());
  EXPECT_TRUE(table_.Find(AnswerTo(asked)).has_value());
  EXPECT_EQ(table_.size(), 1u);
  EXPECT_TRUE(table_.Add(PageAt(0x2000)).has_value())
      << "its page may fault again later (revoked, say)";
}

}  // namespace
}  // namespace faultline::vmm
