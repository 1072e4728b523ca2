// Runs the real broker binary as a child process for the benchmarks: on a
// Unix socket and on an ephemeral TCP loopback port (with one VM token), so
// both transports are measured against the same broker. Waits for the ready
// line with a deadline and stops the child on destruction.
//
// Threading: not thread-safe; one owner starts and stops it.
#ifndef FAULTLINE_INTEGRATION_BENCH_BROKER_CHILD_H_
#define FAULTLINE_INTEGRATION_BENCH_BROKER_CHILD_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace faultline::bench {

struct BrokerChildOptions {
  std::string binary;        // path to //broker:broker
  std::string directory;     // short path: socket, log, device memory
  std::string tcp_vm_name;   // the one VM name allowed to attach over TCP
  std::string tcp_vm_token;  // its token
  int worker_threads = 0;    // 0: the broker's default
  absl::Duration ready_deadline = absl::Seconds(20);
};

class BrokerChild {
 public:
  // `extra_args`: more broker flags (--store=...).
  static absl::StatusOr<std::unique_ptr<BrokerChild>> Start(
      BrokerChildOptions options, std::vector<std::string> extra_args = {});
  ~BrokerChild();

  BrokerChild(const BrokerChild&) = delete;
  BrokerChild& operator=(const BrokerChild&) = delete;

  std::string unix_target() const { return "unix:" + socket_path_; }
  // "127.0.0.1:PORT", the port the broker bound.
  std::string tcp_target() const { return tcp_target_; }
  std::string log_path() const { return log_path_; }

 private:
  BrokerChild(pid_t pid, std::string socket_path, std::string log_path)
      : pid_(pid),
        socket_path_(std::move(socket_path)),
        log_path_(std::move(log_path)) {}

  // SIGTERM, then SIGKILL if the child has not exited within a few seconds.
  void Stop();

  pid_t pid_;
  const std::string socket_path_;
  const std::string log_path_;
  std::string tcp_target_;
};

// The broker binary beside this program in Bazel's runfiles (bazel run or
// bazel test), or empty when there is none.
std::string FindBrokerInRunfiles(const char* argv0);

// A fresh short directory under /tmp (socket paths hold at most 107 bytes).
absl::StatusOr<std::string> MakeShortTempDir();

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_BROKER_CHILD_H_
