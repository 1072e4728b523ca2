// Follows the test host's serial console file while QEMU writes it, copying
// what it gains to an output (stdout, or the --console file).
//
// Threading: one thread at a time.
#ifndef FAULTLINE_INTEGRATION_TESTHOST_CONSOLE_H_
#define FAULTLINE_INTEGRATION_TESTHOST_CONSOLE_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "proto/base/unique_fd.h"

namespace faultline::testhost {

class ConsoleFollower {
 public:
  // Follows `path`, which may not exist yet. Writes to `output_fd`, which it
  // does not own.
  static absl::StatusOr<std::unique_ptr<ConsoleFollower>> Create(
      const std::string& path, int output_fd);

  ConsoleFollower(const ConsoleFollower&) = delete;
  ConsoleFollower& operator=(const ConsoleFollower&) = delete;

  // Copies everything written since the last call; never waits for more.
  // A file that shrank (truncated by its writer) or was replaced by a new one
  // (libvirt recreates it when QEMU starts) is followed from its start.
  absl::Status Pump();

 private:
  ConsoleFollower(std::string path, int output_fd)
      : path_(std::move(path)), output_fd_(output_fd) {}

  // Opens the file anew when the path names a different file than input_.
  absl::Status Reopen();

  std::string path_;
  UniqueFd input_;
  ino_t inode_ = 0;
  int output_fd_;
  off_t offset_ = 0;
};

}  // namespace faultline::testhost

#endif  // FAULTLINE_INTEGRATION_TESTHOST_CONSOLE_H_
