#include "integration/bench/broker_child.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "proto/base/errno_status.h"

namespace faultline::bench {
namespace {

constexpr absl::string_view kReadyPrefix = "broker: serving on unix:";

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Executable(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}

// The TCP address in the ready line "... tcp:HOST:PORT", or empty.
std::string TcpFromReadyLine(absl::string_view log) {
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (!absl::StartsWith(line, kReadyPrefix)) continue;
    for (absl::string_view word : absl::StrSplit(line, ' ')) {
      if (absl::ConsumePrefix(&word, "tcp:")) return std::string(word);
    }
  }
  return "";
}

}  // namespace

std::string FindBrokerInRunfiles(const char* argv0) {
  std::vector<std::string> candidates;
  if (const char* srcdir = std::getenv("TEST_SRCDIR")) {
    candidates.push_back(absl::StrCat(srcdir, "/faultline/broker/broker"));
  }
  if (const char* runfiles = std::getenv("RUNFILES_DIR")) {
    candidates.push_back(absl::StrCat(runfiles, "/faultline/broker/broker"));
  }
  candidates.push_back(
      absl::StrCat(argv0, ".runfiles/faultline/broker/broker"));
  for (const std::string& candidate : candidates) {
    if (Executable(candidate)) return candidate;
  }
  return "";
}

absl::StatusOr<std::string> MakeShortTempDir() {
  char directory[] = "/tmp/fl-bench-XXXXXX";
  if (::mkdtemp(directory) == nullptr) return ErrnoError("mkdtemp");
  return std::string(directory);
}

absl::StatusOr<std::unique_ptr<BrokerChild>> BrokerChild::Start(
    BrokerChildOptions options, std::vector<std::string> extra_args) {
  if (!Executable(options.binary)) {
    return absl::NotFoundError(
        absl::StrCat("broker binary '", options.binary,
                     "' is not executable; pass --broker_binary"));
  }
  const std::string device_dir = options.directory + "/devmem";
  if (::mkdir(device_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError("mkdir " + device_dir);
  }
  const std::string log_path = options.directory + "/broker.log";
  const std::string socket_path = options.directory + "/broker.sock";
  // Output goes to a file, never a pipe that could fill up and block it.
  const int log =
      ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log < 0) return ErrnoError("open " + log_path);
  std::vector<std::string> args = {
      options.binary,
      "--socket=" + socket_path,
      "--device_memory_dir=" + device_dir,
      "--tcp=127.0.0.1:0",
      absl::StrCat("--vm_token=", options.tcp_vm_name, "=",
                   options.tcp_vm_token),
  };
  if (options.worker_threads > 0) {
    args.push_back(absl::StrCat("--worker_threads=", options.worker_threads));
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    return ErrnoError("fork");
  }
  if (pid == 0) {
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log);
  std::unique_ptr<BrokerChild> child(
      new BrokerChild(pid, socket_path, log_path));
  const absl::Time give_up = absl::Now() + options.ready_deadline;
  while (absl::Now() < give_up) {
    const std::string output = ReadWholeFile(log_path);
    child->tcp_target_ = TcpFromReadyLine(output);
    if (!child->tcp_target_.empty()) return child;
    if (::waitpid(pid, nullptr, WNOHANG) == pid) {
      child->pid_ = -1;
      return absl::InternalError("broker exited before it was ready: " +
                                 output);
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "broker printed no ready line with a TCP port within ",
      absl::FormatDuration(options.ready_deadline), "; see ", log_path));
}

BrokerChild::~BrokerChild() { Stop(); }

void BrokerChild::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (const int signal : {SIGTERM, SIGKILL}) {
    if (signal == SIGKILL) ::kill(pid_, SIGKILL);
    const absl::Time give_up = absl::Now() + absl::Seconds(5);
    while (absl::Now() < give_up) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
  }
}

}  // namespace faultline::bench
