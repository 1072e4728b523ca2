#include "broker/staging_area.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/base/errno_status.h"

namespace faultline::broker {

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
