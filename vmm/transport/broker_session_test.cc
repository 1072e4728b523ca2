// The session, the connection and the stream writer against the fake broker
// (vmm/testing): typed attach failures, the token on every call, grants
// refused by the listener, and the staging slots' releases going back only
// on their own stream.
#include "vmm/transport/broker_session.h"

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vmm/stop/stop_reason.h"
#include "vmm/testing/fake_broker.h"
#include "vmm/transport/broker_transport.h"
#include "vmm/transport/staging_slots.h"
#include "vmm/transport/stream_writer.h"

namespace faultline::vmm {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

bool NoSleep(absl::Duration delay) {
  absl::SleepFor(delay);
  return true;
}

std::unique_ptr<FakeBroker> StartFake(FakeBroker::Options options = {}) {
  auto broker = FakeBroker::Start(options);
  EXPECT_TRUE(broker.ok()) << broker.status();
  return broker.ok() ? *std::move(broker) : nullptr;
}

BrokerSession::Options SessionTo(const std::string& target) {
  BrokerSession::Options options;
  options.target = target;
  options.vm_name = "vm";
  return options;
}

TEST(BrokerSessionTest, AnUnreachableBrokerIsTypedAsSuch) {
  BrokerSession session(SessionTo("unix:/tmp/fl-vmm-nonexistent/x.sock"));
  const absl::Status status = session.AttachUntil(
      absl::Now() + absl::Milliseconds(300), nullptr, NoSleep);
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_EQ(StopKindOf(status), StopKind::kBrokerUnreachable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("unreachable"));
}

TEST(BrokerSessionTest, RefusalsAreTypedByWhatTheBrokerSaid) {
  struct Case {
    absl::Status error;
    StopKind kind;
  };
  const Case cases[] = {
      {absl::AlreadyExistsError("name in use"), StopKind::kBrokerRefused},
      {absl::PermissionDeniedError("token"), StopKind::kBrokerRefused},
      {absl::FailedPreconditionError("protocol"), StopKind::kVmmError},
  };
  for (const Case& c : cases) {
    FakeBroker::Options options;
    options.attach_error = c.error;
    std::unique_ptr<FakeBroker> broker = StartFake(options);
    ASSERT_NE(broker, nullptr);
    BrokerSession session(SessionTo(broker->target()));
    const absl::Status status =
        session.AttachUntil(absl::Now() + absl::Seconds(10), nullptr, NoSleep);
    EXPECT_EQ(status.code(), c.error.code()) << status;
    EXPECT_EQ(StopKindOf(status), c.kind) << status;
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("refused to attach VM 'vm'"));
    EXPECT_EQ(broker->attaches(), 1) << "a refusal is not asked again";
  }
}

TEST(BrokerSessionTest, RefusedGrantsGiveTheSessionBack) {
  std::unique_ptr<FakeBroker> broker = StartFake();
  ASSERT_NE(broker, nullptr);
  BrokerSession session(SessionTo(broker->target()));
  const absl::Status status = session.AttachUntil(
      absl::Now() + absl::Seconds(10),
      [](const v1::AttachResponse&) {
        return absl::FailedPreconditionError("cannot use these grants");
      },
      NoSleep);
  EXPECT_THAT(std::string(status.message()), HasSubstr("cannot use"));
  EXPECT_FALSE(session.attached());
  EXPECT_EQ(broker->detaches(), 1);
}

// A broker that died right after answering leaves grants that are gone (its
// staging file swept by the next broker): that is worth a new attach.
TEST(BrokerSessionTest, GrantsThatVanishedAreAttachedAgain) {
  std::unique_ptr<FakeBroker> broker = StartFake();
  ASSERT_NE(broker, nullptr);
  BrokerSession session(SessionTo(broker->target()));
  int offered = 0;
  const absl::Status status = session.AttachUntil(
      absl::Now() + absl::Seconds(10),
      [&offered](const v1::AttachResponse&) {
        return ++offered == 1 ? absl::UnavailableError("staging area gone")
                              : absl::OkStatus();
      },
      NoSleep);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_TRUE(session.attached());
  EXPECT_EQ(offered, 2);
  EXPECT_EQ(broker->attaches(), 2);
  EXPECT_EQ(broker->detaches(), 1);
}

TEST(BrokerSessionTest, UnaryResolveCarriesTheToken) {
  std::unique_ptr<FakeBroker> broker = StartFake();
  ASSERT_NE(broker, nullptr);
  broker->set_script([](const v1::FaultRequest& fault) {
    v1::FaultStreamResponse response;
    response.mutable_answer()->set_fault_id(fault.fault_id());
    response.mutable_answer()->mutable_zero();
    return std::vector<v1::FaultStreamResponse>{response};
  });
  BrokerSession session(SessionTo(broker->target()));
  ASSERT_TRUE(
      session.AttachUntil(absl::Now() + absl::Seconds(10), nullptr, NoSleep)
          .ok());
  v1::FaultRequest fault;
  fault.set_fault_id(9);
  absl::StatusOr<v1::FaultAnswer> answer =
      session.Resolve(fault, absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->fault_id(), 9u);
  EXPECT_TRUE(session.Detach(absl::Seconds(5)).ok());
  EXPECT_EQ(broker->calls_without_token(), 0);
  EXPECT_EQ(broker->detaches(), 1);
}

// A listener that keeps what the transport tells it.
class Recorder : public BrokerTransport::Listener {
 public:
  explicit Recorder(StagingSlots* slots) : slots_(slots) {}

  absl::Status OnAttached(const v1::AttachResponse& response) override {
    return slots_->UseArea(response.has_staging() ? &response.staging()
                                                  : nullptr);
  }
  void OnStreamOpen(uint64_t generation) override {
    slots_->StreamOpened(generation);
    absl::MutexLock lock(&mutex_);
    generations_.push_back(generation);
  }
  void OnAnswer(const v1::FaultAnswer& answer) override {
    slots_->Release(answer);
    absl::MutexLock lock(&mutex_);
    answers_.push_back(answer.fault_id());
  }
  void OnRevocation(const v1::FrameRevocation&) override {}

  bool WaitForGeneration(uint64_t generation) {
    absl::MutexLock lock(&mutex_);
    auto opened = [this, generation]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return !generations_.empty() && generations_.back() >= generation;
    };
    return mutex_.AwaitWithTimeout(absl::Condition(&opened), absl::Seconds(10));
  }
  bool WaitForAnswers(size_t count) {
    absl::MutexLock lock(&mutex_);
    auto answered = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return answers_.size() >= count;
    };
    return mutex_.AwaitWithTimeout(absl::Condition(&answered),
                                   absl::Seconds(10));
  }

 private:
  StagingSlots* const slots_;
  absl::Mutex mutex_;
  std::vector<uint64_t> generations_ ABSL_GUARDED_BY(mutex_);
  std::vector<uint64_t> answers_ ABSL_GUARDED_BY(mutex_);
};

v1::FaultStreamRequest Fault(uint64_t id) {
  v1::FaultStreamRequest request;
  request.mutable_fault()->set_fault_id(id);
  return request;
}

TEST(StreamWriterTest, SlotsGoBackOnlyOnTheStreamThatCarriedThem) {
  FakeBroker::Options options;
  options.staging_slots = 16;
  std::unique_ptr<FakeBroker> broker = StartFake(options);
  ASSERT_NE(broker, nullptr);
  // Every answer names staging slot (fault id mod 16).
  broker->set_script([](const v1::FaultRequest& fault) {
    v1::FaultStreamResponse response;
    response.mutable_answer()->set_fault_id(fault.fault_id());
    response.mutable_answer()->mutable_page()->set_staging_slot(
        fault.fault_id() % 16);
    return std::vector<v1::FaultStreamResponse>{response};
  });
  StagingSlots slots;
  StreamWriter stream(&slots);
  Recorder listener(&slots);
  BrokerTransport::Options connection;
  connection.session = SessionTo(broker->target());
  connection.attach_deadline = absl::Seconds(10);
  auto connected = BrokerTransport::Connect(connection, &listener, &stream);
  ASSERT_TRUE(connected.ok()) << connected.status();
  BrokerTransport& transport = **connected;
  EXPECT_EQ(slots.slot_count(), 16u) << "unix: asks for a staging area";
  ASSERT_TRUE(listener.WaitForGeneration(1));
  EXPECT_TRUE(transport.health().connected);

  ASSERT_NE(stream.Send(Fault(3)), 0u);
  ASSERT_TRUE(listener.WaitForAnswers(1));
  ASSERT_EQ(stream.Send(Fault(4)), 1u);  // carries slot 3 back
  ASSERT_TRUE(listener.WaitForAnswers(2));
  ASSERT_TRUE(broker->WaitFor(
      [](const std::vector<FakeBroker::StreamLog>& streams) {
        return !streams.empty() && streams[0].released_slots.size() == 1;
      },
      absl::Seconds(10)));
  EXPECT_EQ(broker->streams()[0].released_slots, std::vector<uint32_t>{3});

  // Slot 4 waits for release when the stream breaks: the broker frees it
  // with the old stream, and the VMM never hands it back on the new one.
  broker->BreakStream();
  ASSERT_TRUE(listener.WaitForGeneration(2));
  ASSERT_EQ(stream.Send(Fault(5)), 2u);
  ASSERT_TRUE(listener.WaitForAnswers(3));
  stream.FlushReleases();
  ASSERT_TRUE(broker->WaitFor(
      [](const std::vector<FakeBroker::StreamLog>& streams) {
        return streams.size() == 2 && !streams[1].released_slots.empty();
      },
      absl::Seconds(10)));
  const std::vector<FakeBroker::StreamLog> streams = broker->streams();
  EXPECT_EQ(streams[1].released_slots, std::vector<uint32_t>{5});
  EXPECT_THAT(streams[1].released_slots, Not(Contains(4u)));
  EXPECT_EQ(broker->attaches(), 1) << "a broken stream is no lost session";
  transport.Shutdown();
  EXPECT_FALSE(stream.open());
  EXPECT_EQ(stream.Send(Fault(6)), 0u) << "no stream, no write";
  EXPECT_EQ(broker->detaches(), 1);
  EXPECT_EQ(broker->calls_without_token(), 0);
}

}  // namespace
}  // namespace faultline::vmm
