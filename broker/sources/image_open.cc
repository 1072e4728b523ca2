#include "broker/sources/image_open.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "proto/base/errno_status.h"
#include "proto/base/quote.h"

namespace faultline::broker {
namespace {

// This thread's file-system identity becomes `access`'s: the kernel then
// checks every path component and the file as it would for the caller.
absl::Status TakeCallerIdentity(const ImageAccess& access) {
  // Root, or the broker's own uid: its rights are the caller's already.
  if (access.uid == 0 || access.uid == ::geteuid()) return absl::OkStatus();
  if (::syscall(SYS_setgroups, access.groups.size(), access.groups.data()) !=
      0) {
    // A broker without CAP_SETGID may keep groups that are already the
    // caller's.
    std::vector<gid_t> own(static_cast<size_t>(::getgroups(0, nullptr)));
    own.resize(static_cast<size_t>(::getgroups(own.size(), own.data())));
    if (own != access.groups) {
      return absl::PermissionDeniedError(absl::StrCat(
          "the broker cannot take on the groups of uid ", access.uid,
          " to open an image with its rights: run the broker as root"));
    }
  }
  // setfsuid/setfsgid say nothing on failure: read the value back.
  ::syscall(SYS_setfsgid, access.gid);
  ::syscall(SYS_setfsuid, access.uid);
  if (static_cast<gid_t>(::syscall(SYS_setfsgid, -1)) != access.gid ||
      static_cast<uid_t>(::syscall(SYS_setfsuid, -1)) != access.uid) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the broker (uid ", ::geteuid(), ") cannot open files as uid ",
        access.uid, ": run it as root, or attach as uid ", ::geteuid()));
  }
  return absl::OkStatus();
}

absl::Status OpenRefusal(int error, const std::string& path,
                         const ImageAccess& access) {
  const std::string quoted = Quoted(path, kQuotedPathBytes);
  const bool beneath = access.kind == ImageAccess::Kind::kBeneathDirectory;
  switch (error) {
    case EXDEV:
      return absl::PermissionDeniedError(
          absl::StrCat("image ", quoted,
                       " is not a relative path inside the broker's "
                       "--image_dir (over TCP, paths are relative to it and "
                       "never leave it)"));
    case ELOOP:
      return absl::PermissionDeniedError(absl::StrCat(
          "image ", quoted,
          beneath ? " goes through a symbolic link, which --image_dir paths "
                    "may not"
                  : " goes through a magic link (/proc/.../fd), which image "
                    "paths may not"));
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(absl::StrCat(
          "image ", quoted, ": permission denied to ",
          beneath ? std::string("the broker in --image_dir")
                  : absl::StrCat("uid ", access.uid,
                                 " (images open with the caller's rights)")));
    default:
      return absl::ErrnoToStatus(error, absl::StrCat("open image ", quoted));
  }
}

// Regular files of file systems that answer reads: not procfs or sysfs
// (their files are the kernel's, and mean something else to every reader)
// and not FUSE (its server decides whether a read ever returns).
absl::Status CheckImageFile(int fd, const std::string& path) {
  const std::string quoted = Quoted(path, kQuotedPathBytes);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return ErrnoError(absl::StrCat("stat image ", quoted));
  }
  if (!S_ISREG(st.st_mode)) {
    const char* what = S_ISFIFO(st.st_mode)   ? "a FIFO"
                       : S_ISDIR(st.st_mode)  ? "a directory"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a file";
    return absl::InvalidArgumentError(
        absl::StrCat("image ", quoted, " is ", what,
                     ", not a regular file; images are regular files only"));
  }
  struct statfs fs;
  if (::fstatfs(fd, &fs) != 0) {
    return ErrnoError(absl::StrCat("statfs image ", quoted));
  }
  if (fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC ||
      fs.f_type == FUSE_SUPER_MAGIC) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image ", quoted,
        " is on procfs, sysfs or FUSE, where reads may mean something else "
        "or never return; images are regular files on disk or tmpfs"));
  }
  return absl::OkStatus();
}

// One open in progress: the waiter and the open's thread share it.
struct OpenJob {
  absl::Mutex mu;
  bool done ABSL_GUARDED_BY(mu) = false;
  bool abandoned ABSL_GUARDED_BY(mu) = false;
  absl::StatusOr<UniqueFd> result ABSL_GUARDED_BY(mu) =
      absl::UnknownError("not opened");
};

}  // namespace

absl::StatusOr<UniqueFd> OpenImageFile(const std::string& path,
                                       const ImageAccess& access) {
  open_how how{};
  how.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_MAGICLINKS;
  UniqueFd directory;
  int at = AT_FDCWD;
  if (access.kind == ImageAccess::Kind::kBeneathDirectory) {
    directory = UniqueFd(RetryOnEintr([&] {
      return ::open(access.directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    }));
    if (!directory.valid()) {
      return ErrnoError(
          absl::StrCat("open --image_dir ", Quoted(access.directory)));
    }
    at = directory.get();
    how.resolve |= RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV;
  } else if (absl::Status taken = TakeCallerIdentity(access); !taken.ok()) {
    return taken;
  }
  UniqueFd file(RetryOnEintr([&] {
    return static_cast<int>(
        ::syscall(SYS_openat2, at, path.c_str(), &how, sizeof(how)));
  }));
  if (!file.valid()) return OpenRefusal(errno, path, access);
  if (absl::Status regular = CheckImageFile(file.get(), path); !regular.ok()) {
    return regular;
  }
  // Reads of a regular file ignore O_NONBLOCK, but the descriptor says what
  // it is used for.
  ::fcntl(file.get(), F_SETFL, 0);
  return file;
}

ImageOpener::ImageOpener(int max_in_progress, OpenFunction open)
    : max_in_progress_(max_in_progress),
      open_(open != nullptr ? std::move(open) : OpenFunction(OpenImageFile)),
      in_progress_(std::make_shared<std::atomic<int>>(0)) {}

absl::StatusOr<UniqueFd> ImageOpener::Open(const std::string& path,
                                           const ImageAccess& access,
                                           absl::Time deadline) const {
  if (in_progress_->fetch_add(1) >= max_in_progress_) {
    in_progress_->fetch_sub(1);
    return absl::ResourceExhaustedError(absl::StrCat(
        max_in_progress_,
        " image opens are still in progress (a file system that does not "
        "answer?); try again later"));
  }
  auto job = std::make_shared<OpenJob>();
  // A thread of its own: it may take the caller's identity, and it may
  // hang in the kernel for as long as the file system does.
  try {
    std::thread([job, path, access, open = open_, counter = in_progress_] {
      absl::StatusOr<UniqueFd> result = open(path, access);
      {
        absl::MutexLock lock(&job->mu);
        // An abandoned open's file is closed here, with `result`.
        if (!job->abandoned) job->result = std::move(result);
        job->done = true;
      }
      counter->fetch_sub(1);
    }).detach();
  } catch (const std::system_error& error) {
    in_progress_->fetch_sub(1);
    return absl::ResourceExhaustedError(
        absl::StrCat("no thread to open an image on: ", error.what()));
  }

  absl::MutexLock lock(&job->mu);
  job->mu.AwaitWithDeadline(absl::Condition(&job->done), deadline);
  if (!job->done) {
    job->abandoned = true;
    return absl::DeadlineExceededError(absl::StrCat(
        "image ", Quoted(path, kQuotedPathBytes),
        " did not open within the attach's deadline (a file system that "
        "does not answer?)"));
  }
  return std::move(job->result);
}

}  // namespace faultline::broker
