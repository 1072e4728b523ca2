// brokerctl's views against a running broker: sessions, stats (with the
// staging table), the sweep of a killed broker's files, watch.
#include "broker/brokerctl/brokerctl_test_fixture.h"

namespace faultline::brokerctl {
namespace {

TEST_F(BrokerctlTest, SessionsStatsAndPools) {
  v1::AttachResponse attached = AttachVm();
  Resolve(attached, 1, 0);
  Result sessions = Brokerctl("sessions");
  EXPECT_EQ(sessions.exit_code, 0) << sessions.output;
  EXPECT_NE(sessions.output.find(attached.session_id()), std::string::npos);
  EXPECT_NE(sessions.output.find("testvm"), std::string::npos);
  Result json = Brokerctl("--json sessions");
  EXPECT_EQ(json.exit_code, 0);
  EXPECT_NE(json.output.find("\"vm_name\":\"testvm\""), std::string::npos)
      << json.output;
  Result stats = Brokerctl("stats " + attached.session_id());
  EXPECT_EQ(stats.exit_code, 0) << stats.output;
  EXPECT_NE(stats.output.find("P99.9us"), std::string::npos);
  EXPECT_NE(stats.output.find("1:ram1"), std::string::npos) << stats.output;
  // No staging area, no staging table.
  EXPECT_EQ(stats.output.find("STAGED"), std::string::npos) << stats.output;
  Result pools = Brokerctl("pools");
  EXPECT_EQ(pools.exit_code, 0);
  EXPECT_NE(pools.output.find("pcipool"), std::string::npos) << pools.output;
  Result unknown = Brokerctl("stats nosuchsession");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find("nosuchsession"), std::string::npos);
}

// The words of the first line of `output` that starts with `first`, from
// the line that contains `header` on; empty if there is none.
std::vector<std::string> RowAfter(const std::string& output,
                                  const std::string& header,
                                  const std::string& first) {
  std::istringstream lines(output);
  std::string line;
  bool after_header = false;
  while (std::getline(lines, line)) {
    if (line.find(header) != std::string::npos) after_header = true;
    if (!after_header || line.rfind(first, 0) != 0) continue;
    std::istringstream words(line);
    std::vector<std::string> row;
    for (std::string word; words >> word;) row.push_back(word);
    return row;
  }
  return {};
}

TEST_F(BrokerctlTest, StatsShowStagingCounters) {
  v1::AttachResponse attached = AttachVm(/*want_staging=*/true);
  ASSERT_TRUE(attached.has_staging());
  auto stream = broker::testing::FaultStreamClient::Open(
      channel_, attached.session_id(), attached.session_token());
  ASSERT_TRUE(stream.ok()) << stream.status();
  // A page and two prefetched pages, all three in slots the VMM keeps.
  ASSERT_TRUE((*stream)->SendFault(1, 1, 0, /*prefetch_hint=*/2));
  std::optional<v1::FaultAnswer> answer =
      (*stream)->WaitAnswer(1, absl::Seconds(30));
  ASSERT_TRUE(answer.has_value());
  ASSERT_TRUE(answer->page().has_staging_slot()) << answer->DebugString();
  ASSERT_EQ(answer->extra_pages_size(), 2);
  // A slot outside the area: refused and counted.
  v1::FaultStreamRequest release;
  release.add_released_staging_slots(5000);
  ASSERT_TRUE((*stream)->Send(release));
  ASSERT_TRUE((*stream)->SendFault(2, 1, 0x8000));
  ASSERT_TRUE((*stream)->WaitAnswer(2, absl::Seconds(30)).has_value());

  Result stats = Brokerctl("stats");
  ASSERT_EQ(stats.exit_code, 0) << stats.output;
  EXPECT_EQ(RowAfter(stats.output, "STAGED", "SESSION"),
            (std::vector<std::string>{"SESSION", "VM", "SLOTS", "HELD",
                                      "STAGED", "INLINE", "REFUSED"}))
      << stats.output;
  EXPECT_EQ(RowAfter(stats.output, "STAGED", attached.session_id()),
            (std::vector<std::string>{attached.session_id(), "testvm", "1024",
                                      "4", "4", "0", "1"}))
      << stats.output;
  EXPECT_EQ(RowAfter(stats.output, "STAGED", "total"),
            (std::vector<std::string>{"total", "(since", "start)", "-", "-",
                                      "4", "0", "1"}))
      << stats.output;

  Result json = Brokerctl("--json stats " + attached.session_id());
  ASSERT_EQ(json.exit_code, 0) << json.output;
  EXPECT_NE(json.output.find("\"staging\":{\"staged_pages\":\"4\","
                             "\"inline_pages\":\"0\","
                             "\"refused_releases\":\"1\","
                             "\"slot_count\":1024,\"slots_held\":4}"),
            std::string::npos)
      << json.output;
  EXPECT_NE(json.output.find("\"staging_total\":{\"staged_pages\":\"4\","
                             "\"inline_pages\":\"0\","
                             "\"refused_releases\":\"1\","
                             "\"slot_count\":0,\"slots_held\":0}"),
            std::string::npos)
      << json.output;
  (*stream)->Finish();
}

// A broker killed with SIGKILL leaves its staging file behind; the next
// broker on the same directory removes it, and keeps the live broker's.
TEST_F(BrokerctlTest, NextBrokerSweepsAKilledBrokersStagingFile) {
  v1::AttachResponse live = AttachVm(/*want_staging=*/true);
  ASSERT_TRUE(live.has_staging());

  const std::string killed_socket = dir_ + "/killed.sock";
  const pid_t killed = SpawnBroker(killed_socket);
  ASSERT_GT(killed, 0);
  v1::AttachResponse left =
      AttachVm(/*want_staging=*/true, ConnectUnix(killed_socket));
  ASSERT_TRUE(left.has_staging());
  EXPECT_NE(left.staging().path(), live.staging().path());
  ASSERT_EQ(::kill(killed, SIGKILL), 0);
  ASSERT_EQ(::waitpid(killed, nullptr, 0), killed);
  ASSERT_TRUE(std::filesystem::exists(left.staging().path()));

  const std::string log = dir_ + "/next.log";
  const pid_t next = SpawnBroker(dir_ + "/next.sock", log);
  ASSERT_GT(next, 0);
  EXPECT_FALSE(std::filesystem::exists(left.staging().path()));
  EXPECT_TRUE(std::filesystem::exists(live.staging().path()));
  ::kill(next, SIGTERM);
  ::waitpid(next, nullptr, 0);
  std::ifstream in(log);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_NE(content.str().find("staging files left by stopped brokers in " +
                               dir_ + "/pools: 1 swept\n"),
            std::string::npos)
      << content.str();
}

TEST_F(BrokerctlTest, WatchCountPrintsEventsAndExits) {
  v1::AttachResponse attached = AttachVm();
  std::atomic<bool> done{false};
  Result watch;
  std::thread watcher([&] {
    watch = Brokerctl("watch --count=2 --timeout=30s");
    done = true;
  });
  // Faults until the watcher has seen its two (it may subscribe late).
  for (int i = 0; i < 600 && !done; ++i) {
    Resolve(attached, 1, 4096 * (i % 16));
    absl::SleepFor(absl::Milliseconds(50));
  }
  watcher.join();
  EXPECT_EQ(watch.exit_code, 0) << watch.output;
  EXPECT_NE(watch.output.find("-> page"), std::string::npos) << watch.output;
  EXPECT_EQ(std::count(watch.output.begin(), watch.output.end(), '\n'), 2);
}

}  // namespace
}  // namespace faultline::brokerctl
