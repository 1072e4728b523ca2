// Runs the real broker binary as a child process for the benchmarks: on a
// Unix socket and on an ephemeral TCP loopback port (with one VM token), so
// both transports are measured against the same broker. Waits for the ready
// line with a deadline and stops the child on destruction.
//
// Threading: not thread-safe; one owner starts and stops it.
#ifndef FAULTLINE_INTEGRATION_BENCH_BROKER_CHILD_H_
#define FAULTLINE_INTEGRATION_BENCH_BROKER_CHILD_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "integration/bench/child_process.h"

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
  ~BrokerChild() = default;

  BrokerChild(const BrokerChild&) = delete;
  BrokerChild& operator=(const BrokerChild&) = delete;

  std::string unix_target() const { return "unix:" + socket_path_; }
  // "127.0.0.1:PORT", the port the broker bound.
  std::string tcp_target() const { return tcp_target_; }
  std::string log_path() const { return process_->log_path(); }
  pid_t pid() const { return process_->pid(); }

  // SIGKILL, as a crash would; returns once the broker is reaped. Its socket
  // file stays (the next broker on it replaces it).
  void Kill();

 private:
  BrokerChild(std::unique_ptr<ChildProcess> process, std::string socket_path)
      : process_(std::move(process)), socket_path_(std::move(socket_path)) {}

  // Destroying it stops the broker: SIGTERM, then SIGKILL.
  std::unique_ptr<ChildProcess> process_;
  const std::string socket_path_;
  std::string tcp_target_;
};

// The broker binary beside this program in Bazel's runfiles (bazel run or
// bazel test), or empty when there is none.
std::string FindBrokerInRunfiles(const char* argv0);

// A fresh short directory under /tmp (socket paths hold at most 107 bytes).
absl::StatusOr<std::string> MakeShortTempDir();

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_BROKER_CHILD_H_
