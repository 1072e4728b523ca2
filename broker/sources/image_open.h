// Opening an image source's file with the caller's rights, never the
// broker's, and without ever blocking the caller for long.
//
// Which rights and which files a caller gets is decided in
// broker/session/authorization (ImageAccessFor); this is the mechanism:
// - as a local caller: on a thread of its own that has taken the caller's
//   file-system uid, gid and groups (setfsuid, setfsgid and setgroups are
//   per thread in Linux; the raw system calls, since glibc's setgroups would
//   change every thread), so the kernel checks every directory and the file
//   as it would for the caller;
// - beneath a directory (TCP callers): openat2 with RESOLVE_BENEATH and no
//   symbolic links, so neither `..` nor a link leads out of it.
// Either way magic links (/proc/self/fd/N) are not followed, the open does
// not wait (O_NONBLOCK: a FIFO opens at once), and only a regular file on a
// file system that answers is accepted: FIFOs, devices and directories are
// refused, and so are procfs, sysfs and FUSE files (a FUSE server can hold
// a read forever).
//
// A file system can still hang the open itself (a FUSE or NFS server that
// does not answer a lookup). The caller waits until its deadline and no
// longer; the open's thread is abandoned and closes what it gets, if it
// ever returns. At most max_in_progress opens may be in progress.
//
// Thread-safe.
#ifndef FAULTLINE_BROKER_SOURCES_IMAGE_OPEN_H_
#define FAULTLINE_BROKER_SOURCES_IMAGE_OPEN_H_

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/base/unique_fd.h"

namespace faultline::broker {

// How one caller's images are opened.
struct ImageAccess {
  enum class Kind {
    // With these file-system credentials; uid 0 keeps the broker's own.
    kAsCaller,
    // A relative path under `directory`, with the broker's rights.
    kBeneathDirectory,
  };
  Kind kind = Kind::kAsCaller;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string directory;
};

class ImageOpener {
 public:
  // The open itself, on the open's thread (replaceable for tests of the
  // waiting; OpenImageFile otherwise).
  using OpenFunction = std::function<absl::StatusOr<UniqueFd>(
      const std::string& path, const ImageAccess& access)>;

  explicit ImageOpener(int max_in_progress = 16, OpenFunction open = nullptr);

  // `path` opened read-only as `access` says, by `deadline`. The open's
  // refusals (NOT_FOUND, PERMISSION_DENIED naming the rule, INVALID_ARGUMENT
  // for a file that is not a regular file), DEADLINE_EXCEEDED when it did
  // not finish in time, RESOURCE_EXHAUSTED when too many opens still hang.
  absl::StatusOr<UniqueFd> Open(const std::string& path,
                                const ImageAccess& access,
                                absl::Time deadline) const;

  // Opens still in progress, abandoned ones included.
  int in_progress() const { return in_progress_->load(); }

 private:
  const int max_in_progress_;
  const OpenFunction open_;
  // Shared with abandoned opens' threads, which may outlive the opener.
  const std::shared_ptr<std::atomic<int>> in_progress_;
};

// The open ImageOpener runs on its thread: takes the caller's file-system
// identity for kAsCaller (a thread that does so must not do anything else
// afterwards), opens and checks the file. Blocks as long as the file
// system does.
absl::StatusOr<UniqueFd> OpenImageFile(const std::string& path,
                                       const ImageAccess& access);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SOURCES_IMAGE_OPEN_H_
