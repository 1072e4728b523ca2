// Service tests of the read throttle over a real socket: a session at its
// faults-in-flight limit is not read (its excess is neither worked on nor
// refused) until its own answers complete, then everything is answered
// once; its re-asks are read at its re-ask rate; a paused stream still
// ends on detach and at shutdown.
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/server_test_fixture.h"

namespace faultline::broker {
namespace {

class ThrottleServiceTest : public BrokerServerTest {
 protected:
  void SetInjection(const v1::InjectionRule& rule) {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::SetInjectionResponse response;
    ASSERT_TRUE(admin_->SetInjection(&context, rule, &response).ok());
  }

  // The session's first `count` faults wait `delay_us` on the timer: they
  // stay in flight that long.
  void DelayFirstFaults(const v1::AttachResponse& session, uint32_t count,
                        uint32_t delay_us) {
    v1::InjectionRule rule;
    rule.set_session_id(session.session_id());
    rule.set_region_id(1);
    rule.set_count(count);
    rule.set_delay_us(delay_us);
    SetInjection(rule);
  }

  v1::FaultCounters Counters(const std::string& session_id) {
    v1::GetStatsRequest request;
    request.set_session_id(session_id);
    v1::GetStatsResponse stats;
    grpc::ClientContext context;
    SetDeadline(&context);
    EXPECT_TRUE(admin_->GetStats(&context, request, &stats).ok());
    return stats.sessions_size() == 1 ? stats.sessions(0).counters()
                                      : v1::FaultCounters();
  }

  // Waits until the broker counted a read pause of the session (`reask`:
  // one for its re-ask rate).
  void WaitForPause(const std::string& session_id, bool reask) {
    const absl::Time deadline = absl::Now() + kWait;
    while (absl::Now() < deadline) {
      const v1::FaultCounters c = Counters(session_id);
      if ((reask ? c.reasks_throttled() : c.reads_paused()) > 0) return;
      absl::SleepFor(absl::Milliseconds(5));
    }
    FAIL() << "session " << session_id << " was never paused";
  }

  // A session with a quota of 2 whose first two faults stay in flight for a
  // minute, and whose stream holds three more, unread.
  void PauseAStream(v1::AttachResponse* session,
                    std::unique_ptr<FaultStreamClient>* stream) {
    server_.reset();
    StartBroker(dir_, /*max_in_flight=*/2);
    *session = MustAttach("paused", {PatternRegion(1, 0, 64, 4)});
    DelayFirstFaults(*session, 2, 60'000'000);
    *stream = OpenStream(*session);
    ASSERT_NE(*stream, nullptr);
    for (uint64_t id = 1; id <= 5; ++id) {
      ASSERT_TRUE((*stream)->SendFault(id, 1, id * 4096));
    }
    WaitForPause(session->session_id(), /*reask=*/false);
  }
};

TEST_F(ThrottleServiceTest,
       ExcessIsNotReadUntilAnswersCompleteThenAllAnswered) {
  server_.reset();
  StartBroker(dir_, /*max_in_flight=*/4);
  auto storm = MustAttach("storm", {PatternRegion(1, 0, 64, 1)});
  auto quiet = MustAttach("quiet", {PatternRegion(1, 0, 64, 2)});
  DelayFirstFaults(storm, 4, 2'000'000);
  auto stream = OpenStream(storm);
  constexpr uint64_t kFaults = 16;
  for (uint64_t id = 1; id <= kFaults; ++id) {
    ASSERT_TRUE(stream->SendFault(id, 1, (id - 1) * 4096));
  }
  // Four faults in flight (delayed), and the stream not read on.
  WaitForFaultsInFlight(storm.session_id(), 4);
  WaitForPause(storm.session_id(), /*reask=*/false);
  EXPECT_EQ(Sessions().sessions_size(), 2);
  // Meanwhile the quiet session is answered in full.
  for (uint64_t page = 0; page < 8; ++page) {
    v1::FaultAnswer answer;
    ASSERT_TRUE(Resolve(quiet, 1, page * 4096, &answer).ok());
    EXPECT_TRUE(PatternMatches(answer.page().data(), 2, page));
  }
  for (uint64_t id = 1; id <= kFaults; ++id) {
    auto answer = stream->WaitAnswer(id, kWait);
    ASSERT_TRUE(answer.has_value()) << "fault " << id;
    // Never an over-quota retry: the excess waited unread instead.
    ASSERT_TRUE(answer->has_page()) << answer->DebugString();
    EXPECT_TRUE(PatternMatches(answer->page().data(), 1, id - 1));
  }
  // The excess was read only after a delayed fault was answered: the first
  // answer on the stream is one of those; and each fault was answered once.
  std::vector<uint64_t> order = stream->AnswerOrder();
  ASSERT_EQ(order.size(), kFaults);
  EXPECT_LE(order.front(), 4u);
  std::sort(order.begin(), order.end());
  EXPECT_EQ(std::adjacent_find(order.begin(), order.end()), order.end());
  const v1::FaultCounters counters = Counters(storm.session_id());
  EXPECT_EQ(counters.faults(), kFaults);
  EXPECT_EQ(counters.pages(), kFaults);
  EXPECT_EQ(counters.retries(), 0u);
  EXPECT_GE(counters.reads_paused(), 1u);
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(ThrottleServiceTest, ReasksAreReadAtTheSessionsReaskRate) {
  server_.reset();
  configure_ = [](BrokerOptions& options) {
    options.max_reasks_per_second = 10;  // a bucket of one
  };
  StartBroker(dir_);
  auto session = MustAttach("reasker", {PatternRegion(1, 0, 64, 3)});
  v1::InjectionRule busy;
  busy.set_session_id(session.session_id());
  busy.set_region_id(1);
  busy.mutable_retry()->set_reason(v1::RETRY_REASON_BUSY);
  SetInjection(busy);
  auto stream = OpenStream(session);
  // Re-asks sent back to back: read one per token, every one answered.
  constexpr uint64_t kReasks = 6;
  for (uint64_t id = 1; id <= kReasks; ++id) {
    v1::FaultStreamRequest request;
    v1::FaultRequest* fault = request.mutable_fault();
    fault->set_fault_id(id);
    fault->set_region_id(1);
    fault->set_offset(id * 4096);
    fault->set_attempt(2);
    ASSERT_TRUE(stream->Send(request));
  }
  for (uint64_t id = 1; id <= kReasks; ++id) {
    auto answer = stream->WaitAnswer(id, kWait);
    ASSERT_TRUE(answer.has_value()) << "fault " << id;
    EXPECT_TRUE(answer->has_retry()) << answer->DebugString();
  }
  EXPECT_EQ(stream->AnswerOrder().size(), kReasks);
  const v1::FaultCounters counters = Counters(session.session_id());
  EXPECT_GE(counters.reasks_throttled(), 1u);
  EXPECT_EQ(counters.reads_paused(), 0u);
  EXPECT_EQ(counters.retries(), kReasks);
  // First asks are not held to the re-ask rate.
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::ClearInjectionResponse cleared;
    ASSERT_TRUE(
        admin_->ClearInjection(&context, v1::ClearInjectionRequest(), &cleared)
            .ok());
  }
  const uint64_t throttled_before =
      Counters(session.session_id()).reasks_throttled();
  for (uint64_t id = 100; id < 120; ++id) {
    ASSERT_TRUE(stream->SendFault(id, 1, (id - 100) * 4096));
  }
  for (uint64_t id = 100; id < 120; ++id) {
    auto answer = stream->WaitAnswer(id, kWait);
    ASSERT_TRUE(answer.has_value() && answer->has_page()) << "fault " << id;
  }
  // At most the one wait that paid back the last re-ask.
  EXPECT_LE(Counters(session.session_id()).reasks_throttled(),
            throttled_before + 1);
}

TEST_F(ThrottleServiceTest, PausedStreamEndsWhenItsSessionIsDetached) {
  v1::AttachResponse session;
  std::unique_ptr<FaultStreamClient> stream;
  ASSERT_NO_FATAL_FAILURE(PauseAStream(&session, &stream));
  ASSERT_TRUE(Detach(session.session_id(), session.session_token()).ok());
  // Well before the delayed faults would be answered.
  EXPECT_TRUE(stream->WaitEnded(absl::Seconds(20)));
  EXPECT_FALSE(stream->Finish().ok());
}

TEST_F(ThrottleServiceTest, PausedStreamEndsAtShutdown) {
  v1::AttachResponse session;
  std::unique_ptr<FaultStreamClient> stream;
  ASSERT_NO_FATAL_FAILURE(PauseAStream(&session, &stream));
  server_->Shutdown();
  EXPECT_TRUE(stream->WaitEnded(absl::Seconds(20)));
  EXPECT_FALSE(stream->Finish().ok());
  // The delayed faults were answered (retry INTERRUPTED), none lost.
  for (uint64_t id = 1; id <= 2; ++id) {
    auto answer = stream->WaitAnswer(id, absl::ZeroDuration());
    ASSERT_TRUE(answer.has_value()) << "fault " << id;
    EXPECT_EQ(answer->retry().reason(), v1::RETRY_REASON_INTERRUPTED);
  }
}

}  // namespace
}  // namespace faultline::broker
