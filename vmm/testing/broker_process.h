// Test support: runs the real broker binary (//broker:broker) as a child
// process on a Unix socket, waits for its ready line with a deadline, and
// stops, kills or restarts it.
#ifndef FAULTLINE_VMM_TESTING_BROKER_PROCESS_H_
#define FAULTLINE_VMM_TESTING_BROKER_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace faultline::vmm {

class BrokerProcess {
 public:
  // `directory`: a short path (socket paths are limited to 108 bytes) that
  // holds the socket and the device memory files.
  explicit BrokerProcess(std::string directory);
  ~BrokerProcess();

  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;

  // Flags added to the broker's command line from the next Start() on.
  void set_extra_flags(std::vector<std::string> flags) {
    extra_flags_ = std::move(flags);
  }

  // Starts the broker and waits up to `deadline` for "broker: serving on".
  absl::Status Start(absl::Duration deadline = absl::Seconds(20));
  // SIGKILL, as a crash would.
  void Kill();
  // SIGTERM, then SIGKILL if it has not exited within a few seconds.
  void Stop();

  // The running broker's process id (-1 when none), for tests that signal
  // it (SIGSTOP, as a broker that hangs).
  pid_t pid() const { return pid_; }

  std::string socket_path() const { return directory_ + "/broker.sock"; }
  std::string target() const { return "unix:" + socket_path(); }
  std::string device_memory_dir() const { return directory_ + "/devmem"; }

 private:
  void Reap(absl::Duration deadline);

  const std::string directory_;
  std::vector<std::string> extra_flags_;
  pid_t pid_ = -1;
};

// A fresh short temporary directory under /tmp.
std::string MakeShortTempDir();

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_TESTING_BROKER_PROCESS_H_
