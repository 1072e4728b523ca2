// Test fixture for brokerctl's tests: a //broker:broker binary and brokerctl
// run as subprocesses with deadlines; a test VMM attaches over gRPC. For
// tests only.
#ifndef FAULTLINE_BROKER_BROKERCTL_BROKERCTL_TEST_FIXTURE_H_
#define FAULTLINE_BROKER_BROKERCTL_BROKERCTL_TEST_FIXTURE_H_

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

using broker::testing::ConnectUnix;
using broker::testing::DeviceRegion;
using broker::testing::PatternRegion;
using broker::testing::SetDeadline;

inline std::string Runfile(const std::string& path) {
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

  // Starts a broker on `socket` with the pools in dir_/pools (and
  // `extra_args`) and waits for its ready line, which goes to `ready_line`
  // when given; its stderr goes to `stderr_path` when given. -1 if it does
  // not come up.
  pid_t SpawnBroker(const std::string& socket,
                    const std::string& stderr_path = "",
                    std::vector<std::string> extra_args = {},
                    std::string* ready_line = nullptr) {
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
    std::vector<char*> argv = {binary.data(), socket_flag.data(),
                               dir_flag.data()};
    for (std::string& arg : extra_args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int spawned = posix_spawn(&pid, binary.c_str(), &actions, nullptr,
                                    argv.data(), environ);
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
    if (ready_line != nullptr) *ready_line = line;
    const std::string expected = "broker: serving on unix:" + socket;
    if (line.rfind(expected, 0) != 0 ||
        (extra_args.empty() && line != expected + "\n")) {
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

  // brokerctl with `args`, on the fixture's socket unless `broker` names
  // another address.
  Result Brokerctl(const std::string& args, const std::string& broker = "") {
    const std::string command =
        absl::StrCat("timeout 60 ", Runfile("broker/brokerctl/brokerctl"),
                     " --broker=", broker.empty() ? "unix:" + socket_ : broker,
                     " ", args, " 2>&1");
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

}  // namespace faultline::brokerctl

#endif  // FAULTLINE_BROKER_BROKERCTL_BROKERCTL_TEST_FIXTURE_H_
