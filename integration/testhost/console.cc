#include "integration/testhost/console.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"

namespace faultline::testhost {
namespace {

absl::Status WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t written = RetryOnEintr([&] { return ::write(fd, data, size); });
    if (written < 0) return ErrnoError("writing the console output");
    data += written;
    size -= static_cast<size_t>(written);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ConsoleFollower>> ConsoleFollower::Create(
    const std::string& path, int output_fd) {
  if (path.empty()) return absl::InvalidArgumentError("no console file");
  return std::unique_ptr<ConsoleFollower>(new ConsoleFollower(path, output_fd));
}

absl::Status ConsoleFollower::Reopen() {
  struct stat by_path;
  if (::stat(path_.c_str(), &by_path) != 0) {
    if (errno == ENOENT) return absl::OkStatus();  // not created yet
    return ErrnoError(absl::StrCat("checking console file ", path_));
  }
  if (input_ && by_path.st_ino == inode_) return absl::OkStatus();
  // Whatever the old file gained before it was replaced has been copied by
  // the previous Pump(); the new file starts over.
  UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoError(absl::StrCat("opening console file ", path_));
  }
  struct stat opened;
  RETURN_IF_ERROR(
      CheckSyscall(::fstat(fd.get(), &opened), "checking the console file")
          .status());
  input_ = std::move(fd);
  inode_ = opened.st_ino;
  offset_ = 0;
  return absl::OkStatus();
}

absl::Status ConsoleFollower::Pump() {
  RETURN_IF_ERROR(Reopen());
  if (!input_) return absl::OkStatus();
  struct stat info;
  RETURN_IF_ERROR(
      CheckSyscall(::fstat(input_.get(), &info), "checking the console file")
          .status());
  if (info.st_size < offset_) offset_ = 0;
  char buffer[16384];
  while (true) {
    ssize_t got = RetryOnEintr(
        [&] { return ::pread(input_.get(), buffer, sizeof(buffer), offset_); });
    if (got < 0) return ErrnoError("reading the console file");
    if (got == 0) return absl::OkStatus();
    RETURN_IF_ERROR(WriteAll(output_fd_, buffer, static_cast<size_t>(got)));
    offset_ += got;
  }
}

}  // namespace faultline::testhost
