// brokerctl against a running //broker:broker binary: both run as
// subprocesses with deadlines; a test VMM attaches over gRPC.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/test_client.h"
#include "gtest/gtest.h"
#include "proto/faultline/v1/wire.h"
#include "proto/pattern.h"

extern char** environ;

namespace faultline::brokerctl {
namespace {

using broker::testing::ConnectUnix;
using broker::testing::DeviceRegion;
using broker::testing::PatternRegion;
using broker::testing::SetDeadline;

std::string Runfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  return absl::StrCat(srcdir != nullptr ? srcdir : ".", "/faultline/", path);
}

struct Result {
  int exit_code = -1;
  std::string output;
};

class BrokerctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/faultline-brokerctl-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    socket_ = dir_ + "/broker.sock";
    broker_pid_ = SpawnBroker(socket_);
    ASSERT_GT(broker_pid_, 0);
    channel_ = ConnectUnix(socket_);
  }

  // Starts a broker on `socket` with the pools in dir_/pools and waits for
  // its ready line; its stderr goes to `stderr_path` when given. -1 if it
  // does not come up.
  pid_t SpawnBroker(const std::string& socket,
                    const std::string& stderr_path = "") {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return -1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    if (!stderr_path.empty()) {
      posix_spawn_file_actions_addopen(&actions, STDERR_FILENO,
                                       stderr_path.c_str(),
                                       O_WRONLY | O_CREAT | O_TRUNC, 0600);
    }
    std::string binary = Runfile("broker/broker");
    std::string socket_flag = "--socket=" + socket;
    std::string dir_flag = "--device_memory_dir=" + dir_ + "/pools";
    char* argv[] = {binary.data(), socket_flag.data(), dir_flag.data(),
                    nullptr};
    pid_t pid = -1;
    const int spawned =
        posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (spawned != 0) {
      ::close(out[0]);
      ADD_FAILURE() << "posix_spawn " << binary << ": " << spawned;
      return -1;
    }
    // The ready line, within a deadline.
    std::string line;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (line.find('\n') == std::string::npos && absl::Now() < deadline) {
      pollfd fd = {out[0], POLLIN, 0};
      if (::poll(&fd, 1, 1000) <= 0) continue;
      char buffer[256];
      ssize_t n = ::read(out[0], buffer, sizeof(buffer));
      if (n <= 0) break;
      line.append(buffer, n);
    }
    ::close(out[0]);
    if (line != "broker: serving on unix:" + socket + "\n") {
      ADD_FAILURE() << "broker ready line: \"" << line << "\"";
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return -1;
    }
    return pid;
  }

  void TearDown() override {
    if (broker_pid_ > 0) {
      ::kill(broker_pid_, SIGTERM);
      int status = 0;
      const absl::Time deadline = absl::Now() + absl::Seconds(20);
      pid_t done = 0;
      while ((done = ::waitpid(broker_pid_, &status, WNOHANG)) == 0 &&
             absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(20));
      }
      if (done == 0) {
        ::kill(broker_pid_, SIGKILL);
        ::waitpid(broker_pid_, &status, 0);
        ADD_FAILURE() << "broker did not stop on SIGTERM";
      } else {
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
            << "broker exit status " << status;
      }
    }
    std::filesystem::remove_all(dir_);
  }

  Result Brokerctl(const std::string& args) {
    const std::string command =
        absl::StrCat("timeout 60 ", Runfile("broker/brokerctl/brokerctl"),
                     " --broker=unix:", socket_, " ", args, " 2>&1");
    Result result;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return result;
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
      result.output.append(buffer, n);
    }
    const int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
  }

  // On `channel` (default: the fixture's broker).
  v1::AttachResponse AttachVm(
      bool want_staging = false,
      std::shared_ptr<grpc::Channel> channel = nullptr) {
    if (channel == nullptr) channel = channel_;
    v1::AttachRequest request;
    request.set_protocol_version(v1::wire::kProtocolVersion);
    request.set_vm_name("testvm");
    request.set_want_staging(want_staging);
    *request.add_regions() = PatternRegion(1, 0, 16, 42);
    v1::Region store = PatternRegion(2, 0x100000, 16, 0);
    store.set_name("disk");
    store.mutable_source()->mutable_store()->set_store("blocks");
    *request.add_regions() = store;
    *request.add_regions() =
        DeviceRegion(3, 0x100000000, 8, "pcipool", 8, v1::FRAME_POLICY_IDENTITY,
                     v1::SHARING_SHARED);
    v1::AttachResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status =
        v1::FaultBroker::NewStub(channel)->Attach(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  v1::FaultAnswer Resolve(const v1::AttachResponse& attached, uint32_t region,
                          uint64_t offset) {
    v1::ResolveFaultRequest request;
    request.set_session_id(attached.session_id());
    request.mutable_fault()->set_fault_id(1);
    request.mutable_fault()->set_region_id(region);
    request.mutable_fault()->set_offset(offset);
    v1::FaultAnswer answer;
    grpc::ClientContext context;
    SetDeadline(&context);
    context.AddMetadata(v1::wire::kSessionTokenKey, attached.session_token());
    grpc::Status status = v1::FaultBroker::NewStub(channel_)->ResolveFault(
        &context, request, &answer);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return answer;
  }

  std::string dir_;
  std::string socket_;
  pid_t broker_pid_ = -1;
  std::shared_ptr<grpc::Channel> channel_;
};

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

TEST_F(BrokerctlTest, InjectAndClear) {
  v1::AttachResponse attached = AttachVm();
  Result inject = Brokerctl(absl::StrCat(
      "inject --session=", attached.session_id(),
      " --region=1 --first=0 --last=4096 --count=1 --retry=not_yet_available "
      "--delay_us=55"));
  ASSERT_EQ(inject.exit_code, 0) << inject.output;
  v1::FaultAnswer retried = Resolve(attached, 1, 4096);
  EXPECT_EQ(retried.retry().reason(), v1::RETRY_REASON_NOT_YET_AVAILABLE);
  EXPECT_EQ(retried.retry().delay_hint_us(), 55u);
  EXPECT_TRUE(Resolve(attached, 1, 4096).has_page());

  inject = Brokerctl(absl::StrCat("inject --session=", attached.session_id(),
                                  " --region=1 --error=denied --message=nope"));
  ASSERT_EQ(inject.exit_code, 0) << inject.output;
  v1::FaultAnswer denied = Resolve(attached, 1, 0);
  EXPECT_EQ(denied.error().kind(), v1::ERROR_KIND_DENIED);
  EXPECT_EQ(denied.error().message(), "nope");
  Result clear = Brokerctl("inject-clear");
  EXPECT_EQ(clear.exit_code, 0);
  EXPECT_NE(clear.output.find("cleared 1 rules"), std::string::npos);
  EXPECT_TRUE(Resolve(attached, 1, 0).has_page());

  Result bad =
      Brokerctl(absl::StrCat("inject --session=", attached.session_id(),
                             " --region=1 --retry=sometimes"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("sometimes"), std::string::npos);
}

TEST_F(BrokerctlTest, FramesPatternWriteAndRead) {
  AttachVm();
  Result write = Brokerctl("frames write pcipool 2 --pattern_seed=9 --count=3");
  ASSERT_EQ(write.exit_code, 0) << write.output;
  const std::string out_file = dir_ + "/frames.bin";
  Result read = Brokerctl("frames read pcipool 2 3 --out=" + out_file);
  ASSERT_EQ(read.exit_code, 0) << read.output;
  std::ifstream in(out_file, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  const std::string data = content.str();
  ASSERT_EQ(data.size(), 3 * 4096u);
  for (uint64_t f = 0; f < 3; ++f) {
    uint64_t words[pattern::kWordsPerPage];
    std::memcpy(words, data.data() + f * 4096, 4096);
    EXPECT_EQ(pattern::CountMismatches(9, 2 + f, words), 0u) << "frame " << f;
  }
  Result outside = Brokerctl("frames read pcipool 7 4");
  EXPECT_EQ(outside.exit_code, 1);
  EXPECT_NE(outside.output.find("outside its 8 frames"), std::string::npos)
      << outside.output;
}

TEST_F(BrokerctlTest, PutFillsAStore) {
  v1::AttachResponse attached = AttachVm();
  EXPECT_EQ(Resolve(attached, 2, 4096).retry().reason(),
            v1::RETRY_REASON_NOT_YET_AVAILABLE);
  const std::string file = dir_ + "/pages.bin";
  std::ofstream(file, std::ios::binary) << std::string(4096 + 10, 'p');
  Result put = Brokerctl("put blocks " + file + " --offset=4096");
  ASSERT_EQ(put.exit_code, 0) << put.output;
  EXPECT_NE(put.output.find("put 2 pages"), std::string::npos) << put.output;
  EXPECT_EQ(Resolve(attached, 2, 4096).page().data(), std::string(4096, 'p'));
  EXPECT_EQ(Resolve(attached, 2, 8192).page().data(),
            std::string(10, 'p') + std::string(4086, '\0'));
  Result unaligned = Brokerctl("put blocks " + file + " --offset=100");
  EXPECT_EQ(unaligned.exit_code, 2);
}

TEST_F(BrokerctlTest, OtherUsersAreRefusedAdminCalls) {
  // Bazel's sandbox may run tests in a user namespace without uid 65534.
  if (::getuid() != 0 ||
      std::system("setpriv --reuid=65534 --regid=0 --clear-groups true "
                  ">/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "needs root and setpriv able to switch to uid 65534";
  }
  // Group root keeps the socket (mode 0660) reachable; the uid differs.
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  const std::string command =
      absl::StrCat("timeout 60 setpriv --reuid=65534 --regid=0 --clear-groups ",
                   Runfile("broker/brokerctl/brokerctl"),
                   " --broker=unix:", socket_, " sessions 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[1024] = {};
  size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, pipe);
  const int status = ::pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(std::string(buffer, n).find("uid=65534"), std::string::npos)
      << std::string(buffer, n);
}

TEST(BrokerctlUnreachableTest, ReportsAddressAndExits3) {
  const std::string command =
      absl::StrCat("timeout 60 ", Runfile("broker/brokerctl/brokerctl"),
                   " --broker=unix:/nonexistent/broker.sock --timeout=1s "
                   "sessions 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[1024] = {};
  size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, pipe);
  const int status = ::pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_NE(std::string(buffer, n).find("/nonexistent/broker.sock"),
            std::string::npos);
}

}  // namespace
}  // namespace faultline::brokerctl
