#include "vmm/testing/broker_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "proto/base/errno_status.h"

namespace faultline::vmm {
namespace {

std::string BrokerBinary() {
  const char* runfiles = std::getenv("TEST_SRCDIR");
  return absl::StrCat(runfiles != nullptr ? runfiles : ".",
                      "/faultline/broker/broker");
}

}  // namespace

std::string MakeShortTempDir() {
  char dir[] = "/tmp/fl-vmm-XXXXXX";
  if (::mkdtemp(dir) == nullptr) return "/tmp";
  return dir;
}

BrokerProcess::BrokerProcess(std::string directory)
    : directory_(std::move(directory)) {
  ::mkdir(device_memory_dir().c_str(), 0700);
}

BrokerProcess::~BrokerProcess() { Stop(); }

absl::Status BrokerProcess::Start(absl::Duration deadline) {
  // Output goes to a log file, never a pipe that could fill up or break.
  const std::string log_path = directory_ + "/broker.log";
  const int log =
      ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log < 0) return ErrnoError("open " + log_path);
  const std::string binary = BrokerBinary();
  const std::string socket_flag = "--socket=" + socket_path();
  const std::string device_flag = "--device_memory_dir=" + device_memory_dir();
  std::vector<char*> argv = {const_cast<char*>(binary.c_str()),
                             const_cast<char*>(socket_flag.c_str()),
                             const_cast<char*>(device_flag.c_str())};
  for (const std::string& flag : extra_flags_) {
    argv.push_back(const_cast<char*>(flag.c_str()));
  }
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) return ErrnoError("fork");
  if (pid_ == 0) {
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(log);
  const absl::Time give_up = absl::Now() + deadline;
  while (absl::Now() < give_up) {
    std::ifstream in(log_path);
    std::stringstream output;
    output << in.rdbuf();
    if (absl::StrContains(output.str(), "broker: serving on unix:")) {
      return absl::OkStatus();
    }
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError("broker exited before it was ready: " +
                                 output.str());
    }
    ::usleep(20'000);
  }
  Kill();
  return absl::DeadlineExceededError(
      absl::StrCat("broker did not print its ready line in ",
                   absl::FormatDuration(deadline)));
}

void BrokerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  Reap(absl::Seconds(10));
}

void BrokerProcess::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  Reap(absl::Seconds(5));
  if (pid_ > 0) Kill();
}

void BrokerProcess::Reap(absl::Duration deadline) {
  const absl::Time give_up = absl::Now() + deadline;
  while (absl::Now() < give_up) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    ::usleep(10'000);
  }
}

}  // namespace faultline::vmm
