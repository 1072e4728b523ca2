#include "integration/testhost/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "proto/base/errno_status.h"

extern char** environ;

namespace faultline::testhost {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(10);

// The launcher's environment with `overrides` (NAME=value) put in place.
std::vector<std::string> ChildEnvironment(
    const std::vector<std::string>& overrides) {
  std::vector<std::string> entries = overrides;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const absl::string_view inherited(*entry);
    const absl::string_view name = inherited.substr(0, inherited.find('='));
    bool overridden = false;
    for (const std::string& override_entry : overrides) {
      overridden |= absl::StartsWith(override_entry, absl::StrCat(name, "="));
    }
    if (!overridden) entries.emplace_back(inherited);
  }
  return entries;
}

std::vector<char*> PointersTo(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (const std::string& value : strings) {
    pointers.push_back(const_cast<char*>(value.c_str()));
  }
  pointers.push_back(nullptr);
  return pointers;
}

int DecodeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 128;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Child>> Child::Spawn(
    const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty() || argv[0].empty()) {
    return absl::InvalidArgumentError("no program to run");
  }
  std::vector<char*> args = PointersTo(argv);
  const std::vector<std::string> environment =
      ChildEnvironment(options.environment);
  std::vector<char*> environment_pointers = PointersTo(environment);

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
  if (options.own_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attributes, 0);
  }
  posix_spawnattr_setflags(&attributes, flags);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!options.output_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO,
                                     options.output_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  }
  pid_t pid = -1;
  const int error = posix_spawnp(&pid, args[0], &actions, &attributes,
                                 args.data(), environment_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) {
    return absl::ErrnoToStatus(
        error, absl::StrCat("starting ", absl::StrJoin(argv, " ")));
  }
  return std::unique_ptr<Child>(new Child(pid, options.own_process_group));
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
      Child::Spawn(argv, InOwnProcessGroup());
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
