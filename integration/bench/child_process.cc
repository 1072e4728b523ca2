#include "integration/bench/child_process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "proto/base/errno_status.h"

namespace faultline::bench {
namespace {

// fork(), or a fork into a new pid namespace: clone with no new stack
// behaves like fork.
pid_t ForkChild(bool new_pid_namespace) {
  if (!new_pid_namespace) return ::fork();
  return static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD | CLONE_NEWPID,
                                      nullptr, nullptr, nullptr, nullptr));
}

std::string Tail(const std::string& text, size_t bytes) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

}  // namespace

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(
    const ChildOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("no argv");
  const std::string output =
      options.log_path.empty() ? "/dev/null" : options.log_path;
  const int log =
      ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log < 0) return ErrnoError("open " + output);
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0) {
    ::close(log);
    return ErrnoError("open /dev/null");
  }
  std::vector<std::string> args = options.argv;
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = ForkChild(options.new_pid_namespace);
  if (pid < 0) {
    ::close(log);
    ::close(null);
    return ErrnoError("fork " + options.argv[0]);
  }
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    ::dup2(null, STDIN_FILENO);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    if (!options.working_directory.empty() &&
        ::chdir(options.working_directory.c_str()) != 0) {
      ::_exit(126);
    }
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log);
  ::close(null);
  return std::unique_ptr<ChildProcess>(
      new ChildProcess(pid, options.argv[0], options.log_path));
}

std::unique_ptr<ChildProcess> ChildProcess::Adopt(pid_t pid, std::string name) {
  return std::unique_ptr<ChildProcess>(
      new ChildProcess(pid, std::move(name), ""));
}

ChildProcess::~ChildProcess() { Stop(); }

bool ChildProcess::Exited() {
  if (exited_) return true;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exited_ = true;
    wait_status_ = status;
  }
  return exited_;
}

absl::Status ChildProcess::Wait(absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (!Exited()) {
    if (absl::Now() >= give_up) {
      return absl::DeadlineExceededError(
          absl::StrCat(name_, " (pid ", pid_, ") still runs after ",
                       absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return absl::OkStatus();
}

absl::Status ChildProcess::ExitedCleanly() const {
  if (!exited_) return absl::FailedPreconditionError(name_ + " still runs");
  if (WIFEXITED(wait_status_) && WEXITSTATUS(wait_status_) == 0) {
    return absl::OkStatus();
  }
  const std::string how =
      WIFEXITED(wait_status_)
          ? absl::StrCat("exited with status ", WEXITSTATUS(wait_status_))
          : absl::StrCat("was killed by signal ", WTERMSIG(wait_status_));
  return absl::InternalError(absl::StrCat(
      name_, " ", how,
      log_path_.empty() ? ""
                        : absl::StrCat(" (", log_path_, "): ",
                                       Tail(ReadWholeFile(log_path_), 600))));
}

void ChildProcess::Stop(absl::Duration grace) {
  if (Exited()) return;
  ::kill(pid_, SIGTERM);
  if (Wait(grace).ok()) return;
  ::kill(pid_, SIGKILL);
  (void)Wait(absl::Seconds(10));
}

absl::Status RunChild(const ChildOptions& options, absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Spawn(options);
  if (!child.ok()) return child.status();
  if (absl::Status waited = (*child)->Wait(timeout); !waited.ok()) {
    return absl::DeadlineExceededError(
        absl::StrCat(absl::StrJoin(options.argv, " "), ": ", waited.message()));
  }
  return (*child)->ExitedCleanly();
}

}  // namespace faultline::bench
