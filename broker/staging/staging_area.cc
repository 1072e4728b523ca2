#include "broker/staging/staging_area.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto/base/errno_status.h"

namespace faultline::broker {
namespace {

constexpr absl::string_view kStagingFilePrefix = "faultline-staging-";

// faultline-staging-<hex session>@<decimal pid>, as StagingFilePath makes.
bool IsStagingFileName(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, kStagingFilePrefix)) return false;
  const size_t at = name.find('@');
  if (at == 0 || at == absl::string_view::npos || at + 1 == name.size()) {
    return false;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (i < at && !absl::ascii_isxdigit(c)) return false;
    if (i > at && !absl::ascii_isdigit(c)) return false;
  }
  return true;
}

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

// Removes `dir`/`name` if it is an unlocked, sized regular file: a leftover.
bool SweepIfLeftover(const std::string& dir, const std::string& name) {
  const std::string path = absl::StrCat(dir, "/", name);
  UniqueFd file(RetryOnEintr([&] {
    return ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  }));
  if (!file.valid()) return false;  // Gone, or another user's.
  // Held: a live broker's area.
  if (::flock(file.get(), LOCK_EX | LOCK_NB) != 0) return false;
  struct stat held;
  if (::fstat(file.get(), &held) != 0 || !S_ISREG(held.st_mode)) return false;
  // Size 0: its creator has not taken the lock yet (it sizes the file after).
  if (held.st_size == 0) return false;
  // The name must still be this file (its broker may have removed it since).
  struct stat named;
  if (::lstat(path.c_str(), &named) != 0 || named.st_dev != held.st_dev ||
      named.st_ino != held.st_ino) {
    return false;
  }
  return ::unlink(path.c_str()) == 0;
}

}  // namespace

void StagingTotals::Add(const StagedPages& pages) {
  staged_pages.fetch_add(pages.staged, std::memory_order_relaxed);
  inline_pages.fetch_add(pages.inlined, std::memory_order_relaxed);
}

void StagingTotals::AddRefusedRelease() {
  refused_releases.fetch_add(1, std::memory_order_relaxed);
}

void StagingTotals::ToProto(v1::StagingCounters* out) const {
  out->set_staged_pages(staged_pages.load(std::memory_order_relaxed));
  out->set_inline_pages(inline_pages.load(std::memory_order_relaxed));
  out->set_refused_releases(refused_releases.load(std::memory_order_relaxed));
}

std::string StagingFilePath(absl::string_view dir,
                            absl::string_view session_id) {
  return absl::StrCat(dir, "/", kStagingFilePrefix, session_id, "@",
                      ::getpid());
}

absl::StatusOr<int> SweepLeftoverStagingFiles(const std::string& dir) {
  std::vector<std::string> names;
  {
    DIR* listing = ::opendir(dir.c_str());
    if (listing == nullptr) return ErrnoError(absl::StrCat("read ", dir));
    while (const dirent* entry = ::readdir(listing)) {
      if (IsStagingFileName(entry->d_name)) names.push_back(entry->d_name);
    }
    ::closedir(listing);
  }
  int swept = 0;
  for (const std::string& name : names) {
    if (SweepIfLeftover(dir, name)) ++swept;
  }
  return swept;
}

absl::StatusOr<std::unique_ptr<StagingArea>> StagingArea::Create(
    const std::string& path, uint32_t slot_count) {
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
  const size_t bytes = size_t{slot_count} * kStagingSlotBytes;
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
  return std::unique_ptr<StagingArea>(new StagingArea(
      path, slot_count, std::move(file), static_cast<char*>(base)));
}

StagingArea::StagingArea(std::string path, uint32_t slot_count, UniqueFd file,
                         char* base)
    : path_(std::move(path)),
      slot_count_(slot_count),
      file_(std::move(file)),
      base_(base),
      holder_(slot_count, 0) {
  free_.reserve(slot_count);
  // Lowest slots first, so a lightly used area touches few pages.
  for (uint32_t slot = slot_count; slot > 0; --slot) free_.push_back(slot - 1);
}

StagingArea::~StagingArea() {
  RemoveFile();
  ::munmap(base_, size_t{slot_count_} * kStagingSlotBytes);
}

v1::StagingArea StagingArea::Grant() const {
  v1::StagingArea grant;
  grant.set_path(path_);
  grant.set_slot_count(slot_count_);
  grant.set_slot_size(kStagingSlotBytes);
  return grant;
}

void StagingArea::RemoveFile() {
  absl::MutexLock lock(&mu_);
  if (file_removed_) return;
  file_removed_ = true;
  ::unlink(path_.c_str());
}

uint64_t StagingArea::BeginEpoch() {
  absl::MutexLock lock(&mu_);
  ++epoch_;
  free_.clear();
  for (uint32_t slot = slot_count_; slot > 0; --slot) {
    holder_[slot - 1] = 0;
    free_.push_back(slot - 1);
  }
  return epoch_;
}

std::optional<uint32_t> StagingArea::Stage(absl::string_view page,
                                           uint64_t epoch) {
  if (page.size() != kStagingSlotBytes) return std::nullopt;
  uint32_t slot;
  {
    absl::MutexLock lock(&mu_);
    if (epoch == 0 || epoch != epoch_ || free_.empty()) return std::nullopt;
    slot = free_.back();
    free_.pop_back();
    holder_[slot] = epoch;
  }
  // The slot is this caller's alone until the VMM releases it.
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

StagedPages StageAnswer(StagingArea& area, uint64_t epoch,
                        v1::FaultAnswer* answer) {
  StagedPages pages;
  auto stage = [&](std::string* data, auto set_slot) {
    if (std::optional<uint32_t> slot = area.Stage(*data, epoch)) {
      set_slot(*slot);
      ++pages.staged;
    } else {
      ++pages.inlined;
    }
  };
  if (answer->has_page() && answer->page().has_data()) {
    v1::PageAnswer* page = answer->mutable_page();
    stage(page->mutable_data(),
          [page](uint32_t slot) { page->set_staging_slot(slot); });
  }
  for (v1::ExtraPage& extra : *answer->mutable_extra_pages()) {
    if (!extra.has_data()) continue;
    stage(extra.mutable_data(),
          [&extra](uint32_t slot) { extra.set_staging_slot(slot); });
  }
  return pages;
}

}  // namespace faultline::broker
