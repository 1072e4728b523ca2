// Service tests of reaping: a session whose VMM was SIGKILLed (a real
// process, peer_probe) goes after --reap_after with its staging file and
// private pool file, a shared pool's file stays, a live stream is never
// reaped, and a VMM that comes back after its session went attaches again
// under the same name.
#include <signal.h>

#include <filesystem>
#include <string>

#include "broker/probe_process.h"
#include "broker/server_test_fixture.h"

namespace faultline::broker {
namespace {

using testing::ProbeProcess;
using testing::ProbeResult;
using testing::RunProbe;

class ReapingServiceTest : public BrokerServerTest {
 protected:
  void SetUp() override {
    dir_ = FreshDir();
    configure_ = [](BrokerOptions &options) {
      options.reap_after = absl::Seconds(1);
    };
    StartBroker(dir_);
  }

  bool HasSession(const std::string &vm_name) {
    const v1::ListSessionsResponse sessions = Sessions();
    for (const auto &session : sessions.sessions()) {
      if (session.vm_name() == vm_name) return true;
    }
    return false;
  }

  // Waits (bounded) until no session is named `vm_name`.
  bool WaitUntilGone(const std::string &vm_name) {
    const absl::Time deadline = absl::Now() + kWait;
    while (absl::Now() < deadline) {
      if (!HasSession(vm_name)) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }
};

TEST_F(ReapingServiceTest, AKilledVmmsSessionAndFilesAreReaped) {
  ProbeProcess vmm({"--socket=" + dir_ + "/broker.sock", "--vm_name=killed",
                    "--staging", "--private_pool=mine", "--shared_pool=ours",
                    "--stream"});
  ASSERT_TRUE(vmm.started());
  ASSERT_EQ(vmm.WaitFor("stream", kWait), "answered") << vmm.output();
  const std::string staging = vmm.WaitFor("staging", kWait).value_or("");
  const std::string private_pool = vmm.WaitFor("pool 2", kWait).value_or("");
  const std::string shared_pool = vmm.WaitFor("pool 3", kWait).value_or("");
  ASSERT_TRUE(std::filesystem::exists(staging)) << vmm.output();
  ASSERT_TRUE(std::filesystem::exists(private_pool)) << vmm.output();
  ASSERT_TRUE(HasSession("killed"));

  vmm.Kill();
  ASSERT_TRUE(WaitUntilGone("killed"));
  // The files go with the last reference to the session, just after.
  const absl::Time deadline = absl::Now() + kWait;
  while ((std::filesystem::exists(staging) ||
          std::filesystem::exists(private_pool)) &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_FALSE(std::filesystem::exists(staging));
  EXPECT_FALSE(std::filesystem::exists(private_pool));
  EXPECT_TRUE(std::filesystem::exists(shared_pool));
}

TEST_F(ReapingServiceTest, ALiveStreamIsNeverReaped) {
  auto attached = MustAttach("alive", {PatternRegion(1, 0, 4, 1)});
  auto stream = OpenStream(attached);
  ASSERT_NE(stream, nullptr);
  // Three grace periods with the stream open and idle.
  absl::SleepFor(absl::Seconds(3));
  EXPECT_TRUE(HasSession("alive"));
  ASSERT_TRUE(stream->SendFault(1, 1, 0));
  ASSERT_TRUE(stream->WaitAnswer(1, kWait).has_value());
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(ReapingServiceTest, AVmmBackAfterItsSessionWentAttachesAgain) {
  auto attached = MustAttach("late", {PatternRegion(1, 0, 4, 1)});
  auto stream = OpenStream(attached);
  ASSERT_NE(stream, nullptr);
  EXPECT_TRUE(stream->Finish().ok());
  stream.reset();
  ASSERT_TRUE(WaitUntilGone("late"));
  // What a reconnecting VMM sees: NOT_FOUND, then a clean attach under
  // its old name.
  auto again = FaultStreamClient::Open(channel_, attached.session_id(),
                                       attached.session_token());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  auto fresh = MustAttach("late", {PatternRegion(1, 0, 4, 1)});
  v1::FaultAnswer answer;
  EXPECT_TRUE(Resolve(fresh, 1, 0, &answer).ok());
}

// A VMM SIGKILLed while a child of it still holds its connection: the
// broker sees the stream open, but the process that attached is gone, so a
// new VMM of the same owner takes the name over at once (it used to be
// refused ALREADY_EXISTS until the broker saw the stream end).
TEST_F(ReapingServiceTest, ANewVmmTakesOverTheNameOfAKilledOneAtOnce) {
  ProbeProcess killed({"--socket=" + dir_ + "/broker.sock", "--vm_name=again",
                       "--stream", "--hold_connection"});
  ASSERT_TRUE(killed.started());
  ASSERT_EQ(killed.WaitFor("stream", kWait), "answered") << killed.output();
  const std::string holder = killed.WaitFor("holder", kWait).value_or("0");
  ASSERT_GT(std::stoi(holder), 0) << killed.output();
  killed.Kill();

  ProbeProcess next(
      {"--socket=" + dir_ + "/broker.sock", "--vm_name=again", "--stream"});
  ASSERT_TRUE(next.started());
  EXPECT_EQ(next.WaitFor("stream", kWait), "answered") << next.output();
  ::kill(std::stoi(holder), SIGKILL);
}

// The name of a VMM that is alive stays its own.
TEST_F(ReapingServiceTest, ALiveVmmsNameIsNotTakenOver) {
  ProbeProcess live(
      {"--socket=" + dir_ + "/broker.sock", "--vm_name=mine", "--stream"});
  ASSERT_TRUE(live.started());
  ASSERT_EQ(live.WaitFor("stream", kWait), "answered") << live.output();
  const ProbeResult second =
      RunProbe({"--socket=" + dir_ + "/broker.sock", "--vm_name=mine"});
  EXPECT_NE(second.output.find("with a connected stream"), std::string::npos)
      << second.output;
  EXPECT_EQ(live.WaitFor("stream", kWait), "answered");
  EXPECT_TRUE(HasSession("mine"));
}

}  // namespace
}  // namespace faultline::broker
