#include "integration/testhost/subprocess.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "proto/base/errno_status.h"

extern char** environ;

namespace faultline::testhost {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(10);

int DecodeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 128;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Child>> Child::Spawn(
    const std::vector<std::string>& argv, bool own_process_group) {
  if (argv.empty() || argv[0].empty()) {
    return absl::InvalidArgumentError("no program to run");
  }
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // The launcher's own dispositions (SIGPIPE ignored, SIGINT/SIGTERM caught)
  // must not leak into the child.
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  short flags = POSIX_SPAWN_SETSIGDEF;
  if (own_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attributes, 0);
  }
  posix_spawnattr_setflags(&attributes, flags);
  pid_t pid = -1;
  int error =
      posix_spawnp(&pid, args[0], nullptr, &attributes, args.data(), environ);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) {
    return absl::ErrnoToStatus(
        error, absl::StrCat("starting ", absl::StrJoin(argv, " ")));
  }
  return std::unique_ptr<Child>(new Child(pid, own_process_group));
}

Child::~Child() {
  if (!exit_status_.has_value()) (void)KillAndReap();
}

absl::StatusOr<std::optional<int>> Child::Poll() {
  if (exit_status_.has_value()) return exit_status_;
  int wait_status = 0;
  pid_t result =
      RetryOnEintr([&] { return waitpid(pid_, &wait_status, WNOHANG); });
  if (result < 0) return ErrnoError(absl::StrCat("waiting for process ", pid_));
  if (result == 0) return std::optional<int>();
  exit_status_ = DecodeWaitStatus(wait_status);
  return exit_status_;
}

void Child::Kill() {
  if (exit_status_.has_value()) return;
  if (own_process_group_) {
    ::kill(-pid_, SIGKILL);
  } else {
    ::kill(pid_, SIGKILL);
  }
}

absl::StatusOr<int> Child::KillAndReap(absl::Duration grace) {
  Kill();
  const absl::Time deadline = absl::Now() + grace;
  while (true) {
    absl::StatusOr<std::optional<int>> status = Poll();
    if (!status.ok()) return status.status();
    if (status->has_value()) return **status;
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("process ", pid_, " survived SIGKILL"));
    }
    absl::SleepFor(kPollInterval);
  }
}

absl::StatusOr<int> RunWithTimeout(const std::vector<std::string>& argv,
                                   absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<Child>> child =
      Child::Spawn(argv, /*own_process_group=*/true);
  if (!child.ok()) return child.status();
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<std::optional<int>> status = (*child)->Poll();
    if (!status.ok()) return status.status();
    if (status->has_value()) return **status;
    if (absl::Now() >= deadline) {
      (void)(*child)->KillAndReap();
      return absl::DeadlineExceededError(
          absl::StrCat(absl::StrJoin(argv, " "), " took longer than ",
                       absl::FormatDuration(timeout), "; killed"));
    }
    absl::SleepFor(kPollInterval);
  }
}

absl::StatusOr<std::string> FindExecutable(const std::string& command,
                                           const std::string& search_path) {
  if (command.empty()) return absl::InvalidArgumentError("empty command");
  if (command.find('/') != std::string::npos) {
    char* resolved = realpath(command.c_str(), nullptr);
    if (resolved == nullptr) {
      return absl::NotFoundError(absl::StrCat("command not found: ", command));
    }
    std::string path(resolved);
    free(resolved);
    if (access(path.c_str(), X_OK) != 0) {
      return absl::PermissionDeniedError(
          absl::StrCat("command is not executable: ", command));
    }
    return path;
  }
  for (absl::string_view dir : absl::StrSplit(search_path, ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", command);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::NotFoundError(absl::StrCat(
      "command not found: ", command, " (searched PATH=", search_path, ")"));
}

}  // namespace faultline::testhost
