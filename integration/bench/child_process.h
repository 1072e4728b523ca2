// A child process for the benchmarks (the broker, CRIU, the restored
// toucher): argv, output to a log file (never a pipe that could fill up),
// an optional working folder and pid namespace, waits with deadlines, and
// SIGTERM-then-SIGKILL on destruction, so no child outlives its owner.
//
// Threading: not thread-safe; one owner.
#ifndef FAULTLINE_INTEGRATION_BENCH_CHILD_PROCESS_H_
#define FAULTLINE_INTEGRATION_BENCH_CHILD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace faultline::bench {

struct ChildOptions {
  std::vector<std::string> argv;  // argv[0]: a path, or a name on PATH
  std::string log_path;           // stdout and stderr; /dev/null when empty
  std::string working_directory;  // unchanged when empty
  // The child is init of a new pid namespace (CRIU restores such a tree
  // without colliding with PIDs still in use).
  bool new_pid_namespace = false;
};

class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(
      const ChildOptions& options);
  // A descendant this process became the parent of as a subreaper
  // (prctl PR_SET_CHILD_SUBREAPER), e.g. a tree `criu restore -d` left.
  static std::unique_ptr<ChildProcess> Adopt(pid_t pid, std::string name);
  ~ChildProcess();

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The child's PID in this process's namespace.
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }

  // True once the child has exited (reaped; see exit_status()).
  bool Exited();
  // Waits up to `timeout` for the child to exit; DeadlineExceeded if it
  // still runs (it is left running).
  absl::Status Wait(absl::Duration timeout);
  // The wait status once Exited().
  int wait_status() const { return wait_status_; }
  // OK when it exited with status 0; otherwise what happened, with the end
  // of its log.
  absl::Status ExitedCleanly() const;
  // SIGTERM, then SIGKILL if it has not exited within `grace`.
  void Stop(absl::Duration grace = absl::Seconds(5));

 private:
  ChildProcess(pid_t pid, std::string name, std::string log_path)
      : pid_(pid), name_(std::move(name)), log_path_(std::move(log_path)) {}

  pid_t pid_;
  bool exited_ = false;
  int wait_status_ = 0;
  const std::string name_;
  const std::string log_path_;
};

// Spawns, waits up to `timeout` and requires exit status 0.
absl::Status RunChild(const ChildOptions& options, absl::Duration timeout);

// The whole file, or empty when it cannot be read.
std::string ReadWholeFile(const std::string& path);

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_CHILD_PROCESS_H_
