// Child processes with bounded waits: the system tools testhost calls
// (groupadd, libvirtd --daemon, ...) and, with /dev/kvm present, the command.
//
// Threading: a Child is used from one thread at a time.
#ifndef FAULTLINE_INTEGRATION_TESTHOST_SUBPROCESS_H_
#define FAULTLINE_INTEGRATION_TESTHOST_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace faultline::testhost {

// How a child starts, beyond its argv.
struct SpawnOptions {
  // The child leads a new process group, and Kill() reaches its descendants.
  bool own_process_group = false;
  // NAME=value entries for the child, replacing the launcher's entries of
  // the same names; the rest of the launcher's environment is kept.
  std::vector<std::string> environment;
  // When set, the child's stdout and stderr go to this file (created or
  // truncated) instead of the launcher's.
  std::string output_path;
};

// A child in its own process group, everything else as the launcher's.
inline SpawnOptions InOwnProcessGroup() {
  SpawnOptions options;
  options.own_process_group = true;
  return options;
}

class Child {
 public:
  // Starts argv[0] (searched in PATH when it has no slash) with the
  // launcher's environment and standard streams, changed as `options` says.
  static absl::StatusOr<std::unique_ptr<Child>> Spawn(
      const std::vector<std::string>& argv, const SpawnOptions& options);

  // Kills and reaps the child if it still runs: no orphans, no zombies.
  ~Child();

  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }

  // The exit status once the child ended (128+N when killed by signal N),
  // nullopt while it runs. Never blocks.
  absl::StatusOr<std::optional<int>> Poll();

  // Sends SIGKILL to the child, or to its process group.
  void Kill();

  // Kills the child and waits for it, at most `grace` long.
  absl::StatusOr<int> KillAndReap(absl::Duration grace = absl::Seconds(5));

 private:
  Child(pid_t pid, bool own_process_group)
      : pid_(pid), own_process_group_(own_process_group) {}

  pid_t pid_;
  bool own_process_group_;
  std::optional<int> exit_status_;
};

// Runs argv to completion within `timeout`; DeadlineExceeded (child killed)
// when it takes longer. Returns the exit status.
absl::StatusOr<int> RunWithTimeout(const std::vector<std::string>& argv,
                                   absl::Duration timeout);

// The absolute path of `command`: itself when it contains a slash, otherwise
// the first executable match in the colon-separated `search_path`. NotFound
// when there is none.
absl::StatusOr<std::string> FindExecutable(const std::string& command,
                                           const std::string& search_path);

}  // namespace faultline::testhost

#endif  // FAULTLINE_INTEGRATION_TESTHOST_SUBPROCESS_H_
