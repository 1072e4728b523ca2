#include "broker/staging/staging_area.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto/base/errno_status.h"

namespace faultline::broker {
namespace {

// The only other process that takes the lock is a starting broker's sweep,
// for a few system calls; a second is plenty.
absl::Status LockWithin(int fd, const std::string& path,
                        absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return ErrnoError(absl::StrCat("lock ", path));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("lock ", path, ": held by another process for ",
                       absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<StagingArea>> StagingArea::Create(
    const std::string& path, uint32_t slot_count, bool with_ring) {
  if (slot_count == 0 || slot_count > kMaxStagingSlots) {
    return absl::InvalidArgumentError(absl::StrCat("a staging area has 1 to ",
                                                   kMaxStagingSlots,
                                                   " slots, not ", slot_count));
  }
  UniqueFd file(RetryOnEintr([&] {
    return ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  }));
  if (!file.valid()) return ErrnoError(absl::StrCat("create ", path));
  // Locked before it is sized: a sweep skips files of size 0.
  if (absl::Status locked = LockWithin(file.get(), path, absl::Seconds(1));
      !locked.ok()) {
    ::unlink(path.c_str());
    return locked;
  }
  const size_t bytes = size_t{slot_count} * kStagingSlotBytes +
                       (with_ring ? v1::ring::kRingBytes : 0);
  if (::ftruncate(file.get(), static_cast<off_t>(bytes)) != 0) {
    absl::Status status = ErrnoError(absl::StrCat("size ", path));
    ::unlink(path.c_str());
    return status;
  }
  void* base =
      ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, file.get(), 0);
  if (base == MAP_FAILED) {
    absl::Status status = ErrnoError(absl::StrCat("map ", path));
    ::unlink(path.c_str());
    return status;
  }
  if (with_ring) {
    // The rest of the ring is zero: both rings empty at index 0.
    auto* header = reinterpret_cast<v1::ring::Header*>(
        static_cast<char*>(base) + size_t{slot_count} * kStagingSlotBytes);
    header->magic = v1::ring::kMagic;
    header->layout_version = v1::ring::kLayoutVersion;
    header->request_records = v1::ring::kRequestRecords;
    header->answer_records = v1::ring::kAnswerRecords;
  }
  return std::unique_ptr<StagingArea>(new StagingArea(
      path, slot_count, with_ring, std::move(file), static_cast<char*>(base)));
}

StagingArea::StagingArea(std::string path, uint32_t slot_count, bool has_ring,
                         UniqueFd file, char* base)
    : path_(std::move(path)),
      slot_count_(slot_count),
      has_ring_(has_ring),
      file_(std::move(file)),
      base_(base),
      ring_(base + size_t{slot_count} * kStagingSlotBytes),
      holder_(slot_count, 0) {
  free_.reserve(slot_count);
  // Lowest slots first, so a lightly used area touches few pages.
  for (uint32_t slot = slot_count; slot > 0; --slot) free_.push_back(slot - 1);
}

StagingArea::~StagingArea() {
  RemoveFile();
  ::munmap(base_, size_t{slot_count_} * kStagingSlotBytes +
                      (has_ring_ ? v1::ring::kRingBytes : 0));
}

v1::StagingArea StagingArea::Grant() const {
  v1::StagingArea grant;
  grant.set_path(path_);
  grant.set_slot_count(slot_count_);
  grant.set_slot_size(kStagingSlotBytes);
  if (has_ring_) {
    v1::FaultRing* ring = grant.mutable_fault_ring();
    ring->set_offset(uint64_t{slot_count_} * kStagingSlotBytes);
    ring->set_size_bytes(v1::ring::kRingBytes);
    ring->set_layout_version(v1::ring::kLayoutVersion);
  }
  return grant;
}

absl::Status StagingArea::GiveTo(uid_t uid, gid_t gid) const {
  return CheckSyscall(::fchown(file_.get(), uid, gid),
                      absl::StrCat("give ", path_, " to uid ", uid))
      .status();
}

void StagingArea::RemoveFile() {
  absl::MutexLock lock(&mu_);
  if (file_removed_) return;
  file_removed_ = true;
  ::unlink(path_.c_str());
}

uint64_t StagingArea::BeginEpoch() {
  absl::MutexLock lock(&mu_);
  epoch_ended_ = false;
  return ++epoch_;
}

void StagingArea::EndEpoch(uint64_t epoch) {
  absl::MutexLock lock(&mu_);
  if (epoch == epoch_) epoch_ended_ = true;
  // Highest first, so the lowest slots are handed out again first.
  for (uint32_t slot = slot_count_; slot > 0; --slot) {
    if (holder_[slot - 1] != epoch) continue;
    holder_[slot - 1] = 0;
    free_.push_back(slot - 1);
  }
}

std::optional<uint32_t> StagingArea::Stage(absl::string_view page,
                                           uint64_t epoch) {
  if (page.size() != kStagingSlotBytes) return std::nullopt;
  absl::MutexLock lock(&mu_);
  if (epoch == 0 || epoch != epoch_ || epoch_ended_ || free_.empty()) {
    return std::nullopt;
  }
  const uint32_t slot = free_.back();
  free_.pop_back();
  holder_[slot] = epoch;
  // Copied under the lock: once the stream's epoch ends (EndEpoch) its slots
  // are free for the next stream, so a copy finished after that could land
  // in a slot handed to the new stream.
  std::memcpy(base_ + size_t{slot} * kStagingSlotBytes, page.data(),
              kStagingSlotBytes);
  return slot;
}

absl::Status StagingArea::Release(uint32_t slot, uint64_t epoch) {
  if (slot >= slot_count_) {
    return absl::InvalidArgumentError(absl::StrCat("staging slot ", slot,
                                                   " is outside the area's ",
                                                   slot_count_, " slots"));
  }
  absl::MutexLock lock(&mu_);
  if (holder_[slot] == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "staging slot ", slot, " is not held (released twice or never sent)"));
  }
  if (holder_[slot] != epoch) {
    return absl::FailedPreconditionError(
        absl::StrCat("staging slot ", slot, " was sent on another stream"));
  }
  holder_[slot] = 0;
  free_.push_back(slot);
  return absl::OkStatus();
}

uint32_t StagingArea::slots_held() const {
  absl::MutexLock lock(&mu_);
  return slot_count_ - static_cast<uint32_t>(free_.size());
}

absl::string_view StagingArea::SlotBytes(uint32_t slot) const {
  if (slot >= slot_count_) return {};
  return absl::string_view(base_ + size_t{slot} * kStagingSlotBytes,
                           kStagingSlotBytes);
}

}  // namespace faultline::broker
