// Runs //broker:peer_probe for service tests: to completion (optionally as
// another uid, through setpriv), or in the background as a VMM that the test
// SIGKILLs. Its "key: value" lines are collected. For tests only.
#ifndef FAULTLINE_BROKER_PROBE_PROCESS_H_
#define FAULTLINE_BROKER_PROBE_PROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

extern char **environ;

namespace faultline::broker::testing {

inline std::string ProbeBinary() {
  const char *srcdir = std::getenv("TEST_SRCDIR");
  return absl::StrCat(srcdir != nullptr ? srcdir : ".",
                      "/faultline/broker/peer_probe");
}

// Root, and setpriv can switch to `uid` here (Bazel's sandbox may run tests
// in a user namespace without it).
inline bool CanRunAsUid(uid_t uid) {
  if (::getuid() != 0) return false;
  const std::string command =
      absl::StrCat("setpriv --reuid=", uid,
                   " --regid=0 --clear-groups true >/dev/null 2>&1");
  return std::system(command.c_str()) == 0;
}

struct ProbeResult {
  int exit_code = -1;
  std::string output;
  // The value of each "key: value" line (the last one of a key).
  std::map<std::string, std::string> values;
};

inline void ParseProbeLines(const std::string &output, ProbeResult *result) {
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    const std::string line = output.substr(start, end - start);
    const size_t colon = line.find(": ");
    if (colon != std::string::npos) {
      result->values[line.substr(0, colon)] = line.substr(colon + 2);
    }
    start = end + 1;
  }
}

// Runs the probe with `args` to its end (60 s at most), as `uid` with
// group root (so the broker's 0660 socket stays reachable) when given.
inline ProbeResult RunProbe(const std::vector<std::string> &args,
                            std::optional<uid_t> uid = std::nullopt) {
  std::string command = "timeout 60 ";
  if (uid.has_value()) {
    absl::StrAppend(&command, "setpriv --reuid=", *uid,
                    " --regid=0 --clear-groups ");
  }
  absl::StrAppend(&command, ProbeBinary(), " ", absl::StrJoin(args, " "),
                  " 2>&1");
  ProbeResult result;
  FILE *pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    result.output.append(buffer, n);
  }
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  ParseProbeLines(result.output, &result);
  return result;
}

// The probe in the background, as the test's uid.
class ProbeProcess {
 public:
  explicit ProbeProcess(const std::vector<std::string> &args) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    std::string binary = ProbeBinary();
    std::vector<std::string> storage = args;
    std::vector<char *> argv = {binary.data()};
    for (std::string &arg : storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(),
                    environ) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    output_fd_ = out[0];
  }
  ~ProbeProcess() {
    Kill();
    if (output_fd_ >= 0) ::close(output_fd_);
  }
  ProbeProcess(const ProbeProcess &) = delete;
  ProbeProcess &operator=(const ProbeProcess &) = delete;

  bool started() const { return pid_ > 0; }

  // The value of the first "key: value" line for `key`, read within
  // `timeout`; nullopt if the probe did not print it.
  std::optional<std::string> WaitFor(const std::string &key,
                                     absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      ProbeResult seen;
      ParseProbeLines(output_, &seen);
      auto it = seen.values.find(key);
      if (it != seen.values.end()) return it->second;
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return std::nullopt;
      pollfd fd = {output_fd_, POLLIN, 0};
      if (::poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(left))) <=
          0) {
        continue;
      }
      char buffer[1024];
      const ssize_t n = ::read(output_fd_, buffer, sizeof(buffer));
      if (n <= 0) return std::nullopt;
      output_.append(buffer, static_cast<size_t>(n));
    }
  }
  const std::string &output() const { return output_; }

  // SIGKILL, as a VMM dies when the host kills it; reaped at once.
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int output_fd_ = -1;
  std::string output_;
};

}  // namespace faultline::broker::testing

#endif  // FAULTLINE_BROKER_PROBE_PROCESS_H_
