#include "broker/devmem/frame_pool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

absl::Status PreadAll(int fd, char* out, size_t size, uint64_t position,
                      const std::string& path) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = RetryOnEintr([&] {
      return ::pread(fd, out + done, size - done,
                     static_cast<off_t>(position + done));
    });
    if (n < 0) return ErrnoError(absl::StrCat("read ", path));
    if (n == 0) {
      // Past the end of a file: frames never written read as zero.
      std::fill(out + done, out + size, '\0');
      return absl::OkStatus();
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status PwriteAll(int fd, absl::string_view data, uint64_t position,
                       const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = RetryOnEintr([&] {
      return ::pwrite(fd, data.data() + done, data.size() - done,
                      static_cast<off_t>(position + done));
    });
    if (n < 0) return ErrnoError(absl::StrCat("write ", path));
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status CheckWholeFrames(absl::string_view data) {
  if (data.empty() || data.size() % v1::wire::kPageBytes != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("frame data of ", data.size(),
                     " bytes is not a whole, non-zero number of 4096-byte "
                     "frames"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<FramePool>> FramePool::Create(Options options) {
  if (options.frame_count == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("pool ", options.name, ": frame_count must be > 0"));
  }
  ASSIGN_OR_RETURN(
      int raw_fd,
      CheckSyscall(
          RetryOnEintr([&] {
            return ::open(options.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC,
                          0600);
          }),
          absl::StrCat("pool ", options.name, ": open ", options.path)));
  UniqueFd fd(raw_fd);
  const off_t size =
      static_cast<off_t>(options.frame_count * v1::wire::kPageBytes);
  struct stat st;
  RETURN_IF_ERROR(
      CheckSyscall(::fstat(fd.get(), &st), absl::StrCat("stat ", options.path))
          .status());
  if (st.st_size != size) {
    // Growing keeps every existing frame; shrinking drops the frames past
    // the new count, which the new attach said it does not have.
    RETURN_IF_ERROR(
        CheckSyscall(::ftruncate(fd.get(), size),
                     absl::StrCat("pool ", options.name, ": size ",
                                  options.path, " to ", size, " bytes"))
            .status());
  }
  return std::unique_ptr<FramePool>(
      new FramePool(std::move(options), std::move(fd)));
}

FramePool::FramePool(Options options, UniqueFd fd)
    : options_(std::move(options)), fd_(std::move(fd)) {
  absl::MutexLock lock(&mu_);
  frame_users_.assign(options_.frame_count, 0);
  if (options_.policy == v1::FRAME_POLICY_FIRST_TOUCH) {
    for (uint64_t f = 0; f < options_.frame_count; ++f) {
      free_frames_.push_back(f);
    }
  }
}

absl::StatusOr<uid_t> FramePool::FileOwner() const {
  struct stat st;
  RETURN_IF_ERROR(CheckSyscall(::fstat(fd_.get(), &st),
                               absl::StrCat("stat ", options_.path))
                      .status());
  return st.st_uid;
}

absl::Status FramePool::GiveTo(uid_t uid, gid_t gid) const {
  return CheckSyscall(::fchown(fd_.get(), uid, gid),
                      absl::StrCat("give ", options_.path, " to uid ", uid))
      .status();
}

FramePool::~FramePool() {
  if (options_.remove_file_on_destruction) ::unlink(options_.path.c_str());
}

absl::StatusOr<uint64_t> FramePool::FrameFor(uint64_t page_index) {
  absl::MutexLock lock(&mu_);
  auto it = page_to_frame_.find(page_index);
  if (it != page_to_frame_.end()) return it->second;
  uint64_t frame;
  if (options_.policy == v1::FRAME_POLICY_FIRST_TOUCH) {
    if (free_frames_.empty()) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "pool ", options_.name, ": all ", options_.frame_count,
          " frames are in use (", revoking_.size(),
          " awaiting unmap); give the pool more frames, revoke some, or "
          "use the identity policy"));
    }
    frame = free_frames_.front();
    free_frames_.pop_front();
  } else {
    frame = page_index % options_.frame_count;
  }
  page_to_frame_[page_index] = frame;
  if (frame_users_[frame]++ == 0) ++frames_in_use_;
  return frame;
}

absl::StatusOr<uint64_t> FramePool::Revoke(uint64_t page_index) {
  absl::MutexLock lock(&mu_);
  auto it = page_to_frame_.find(page_index);
  if (it == page_to_frame_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("pool ", options_.name, ": BAR page ", page_index,
                     " has no frame to revoke (never touched, or revoked)"));
  }
  const uint64_t frame = it->second;
  page_to_frame_.erase(it);
  if (--frame_users_[frame] == 0) {
    --frames_in_use_;
    if (options_.policy == v1::FRAME_POLICY_FIRST_TOUCH) {
      revoking_.insert(frame);
    }
  }
  return frame;
}

void FramePool::ReleaseRevoked(uint64_t frame) {
  absl::MutexLock lock(&mu_);
  if (revoking_.erase(frame) != 0) free_frames_.push_back(frame);
}

uint64_t FramePool::frames_in_use() const {
  absl::MutexLock lock(&mu_);
  return frames_in_use_;
}

absl::Status FramePool::CheckRange(uint64_t first, uint64_t count) const {
  if (count == 0 || first >= options_.frame_count ||
      count > options_.frame_count - first) {
    return absl::OutOfRangeError(absl::StrCat(
        "pool ", options_.name, ": frames [", first, ", ", first + count,
        ") are outside its ", options_.frame_count, " frames"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FramePool::ReadFrames(uint64_t first,
                                                  uint64_t count) const {
  RETURN_IF_ERROR(CheckRange(first, count));
  std::string data(count * v1::wire::kPageBytes, '\0');
  RETURN_IF_ERROR(PreadAll(fd_.get(), data.data(), data.size(),
                           first * v1::wire::kPageBytes, options_.path));
  return data;
}

absl::Status FramePool::WriteFrames(uint64_t first, absl::string_view data) {
  RETURN_IF_ERROR(CheckWholeFrames(data));
  RETURN_IF_ERROR(CheckRange(first, data.size() / v1::wire::kPageBytes));
  return PwriteAll(fd_.get(), data, first * v1::wire::kPageBytes,
                   options_.path);
}

namespace {

// `path` opened without following a last symbolic link, with its size in
// whole frames; NOT_FOUND naming it when it does not exist.
absl::StatusOr<UniqueFd> OpenPoolFile(const std::string& path, int flags,
                                      uint64_t* frames) {
  UniqueFd fd(RetryOnEintr([&] {
    return ::open(path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, 0600);
  }));
  if (!fd.valid()) return ErrnoError(absl::StrCat("open ", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return ErrnoError(absl::StrCat("stat ", path));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a regular file"));
  }
  *frames = static_cast<uint64_t>(st.st_size) / v1::wire::kPageBytes;
  return fd;
}

absl::Status CheckFileRange(const std::string& path, uint64_t frames,
                            uint64_t first, uint64_t count) {
  if (count == 0 || first >= frames || count > frames - first) {
    return absl::OutOfRangeError(
        absl::StrCat(path, ": frames [", first, ", ", first + count,
                     ") are outside its ", frames, " frames"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadPoolFile(const std::string& path,
                                         uint64_t first, uint64_t count) {
  uint64_t frames = 0;
  ASSIGN_OR_RETURN(UniqueFd fd, OpenPoolFile(path, O_RDONLY, &frames));
  RETURN_IF_ERROR(CheckFileRange(path, frames, first, count));
  std::string data(count * v1::wire::kPageBytes, '\0');
  RETURN_IF_ERROR(PreadAll(fd.get(), data.data(), data.size(),
                           first * v1::wire::kPageBytes, path));
  return data;
}

absl::Status WritePoolFile(const std::string& path, uint64_t first,
                           absl::string_view data,
                           uint64_t create_frame_count) {
  RETURN_IF_ERROR(CheckWholeFrames(data));
  if (create_frame_count > kMaxPoolFrames) {
    return absl::InvalidArgumentError(
        absl::StrCat("create_frame_count ", create_frame_count,
                     " is more than a pool's ", kMaxPoolFrames, " frames"));
  }
  uint64_t frames = 0;
  bool created = false;
  absl::StatusOr<UniqueFd> fd = OpenPoolFile(path, O_RDWR, &frames);
  if (absl::IsNotFound(fd.status()) && create_frame_count > 0) {
    fd = OpenPoolFile(path, O_RDWR | O_CREAT | O_EXCL, &frames);
    if (fd.ok()) {
      created = true;
      frames = create_frame_count;
      if (::ftruncate(fd->get(),
                      static_cast<off_t>(frames * v1::wire::kPageBytes)) != 0) {
        absl::Status status = ErrnoError(absl::StrCat("size ", path));
        ::unlink(path.c_str());
        return status;
      }
    }
  }
  if (!fd.ok()) return fd.status();
  absl::Status status =
      CheckFileRange(path, frames, first, data.size() / v1::wire::kPageBytes);
  if (status.ok()) {
    status = PwriteAll(fd->get(), data, first * v1::wire::kPageBytes, path);
  }
  // A refused write leaves no file it created behind.
  if (!status.ok() && created) ::unlink(path.c_str());
  return status;
}

}  // namespace faultline::broker
