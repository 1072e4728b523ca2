#include "vmm/transport/staging_slots.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"
#include "proto/base/unique_fd.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::vmm {

namespace wire = ::faultline::v1::wire;

// One mapped area: slot_count pages, read-only.
class StagingSlots::Area {
 public:
  static absl::StatusOr<std::unique_ptr<const Area>> Map(
      const v1::StagingArea& area) {
    if (area.slot_size() != wire::kPageBytes || area.slot_count() == 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "staging area %s: %u slots of %u bytes; need at least one slot of "
          "%u",
          area.path(), area.slot_count(), area.slot_size(), wire::kPageBytes));
    }
    UniqueFd file(RetryOnEintr(
        [&] { return ::open(area.path().c_str(), O_RDONLY | O_CLOEXEC); }));
    if (!file.valid()) {
      return ErrnoError(absl::StrFormat("open staging area %s", area.path()));
    }
    struct stat info;
    if (::fstat(file.get(), &info) != 0) {
      return ErrnoError(absl::StrFormat("stat staging area %s", area.path()));
    }
    const uint64_t bytes = uint64_t{area.slot_count()} * wire::kPageBytes;
    if (static_cast<uint64_t>(info.st_size) < bytes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "staging area %s has %d bytes, less than its %u slots", area.path(),
          info.st_size, area.slot_count()));
    }
    void* base = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, file.get(), 0);
    if (base == MAP_FAILED) {
      return ErrnoError(absl::StrFormat("map staging area %s", area.path()));
    }
    return std::unique_ptr<const Area>(
        new Area(area.slot_count(), static_cast<const uint8_t*>(base)));
  }

  ~Area() {
    ::munmap(const_cast<uint8_t*>(base_),
             size_t{slot_count_} * wire::kPageBytes);
  }

  Area(const Area&) = delete;
  Area& operator=(const Area&) = delete;

  uint32_t slot_count() const { return slot_count_; }
  const uint8_t* page(uint32_t slot) const {
    return base_ + size_t{slot} * wire::kPageBytes;
  }

 private:
  Area(uint32_t slot_count, const uint8_t* base)
      : slot_count_(slot_count), base_(base) {}

  const uint32_t slot_count_;
  const uint8_t* const base_;
};

StagingSlots::StagingSlots() = default;
StagingSlots::~StagingSlots() = default;

absl::Status StagingSlots::UseArea(const v1::StagingArea* area) {
  std::unique_ptr<const Area> mapped;
  absl::Status status;
  if (area != nullptr) {
    absl::StatusOr<std::unique_ptr<const Area>> opened = Area::Map(*area);
    if (opened.ok()) {
      mapped = *std::move(opened);
    } else if (absl::IsNotFound(opened.status())) {
      // The broker that answered the attach died since, and a new broker's
      // start-up sweep removed its area: this session is gone, not broken.
      status = absl::UnavailableError(absl::StrCat(
          "the broker's staging area is gone (", opened.status().message(),
          "): its broker exited after the attach; attach again"));
    } else {
      // A session whose pages this VMM cannot read is no use.
      status = absl::FailedPreconditionError(absl::StrCat(
          "the broker's staging area cannot be mapped (",
          opened.status().message(),
          "); is the broker on another machine or mount namespace? "
          "--staging=off sends pages inline"));
    }
  }
  absl::MutexLock lock(&mutex_);
  area_ = std::move(mapped);
  pending_.clear();
  return status;
}

void StagingSlots::StreamOpened(uint64_t generation) {
  absl::MutexLock lock(&mutex_);
  generation_ = generation;
  pending_.clear();
}

absl::Status StagingSlots::CheckAnswer(const v1::FaultAnswer& answer) const {
  absl::MutexLock lock(&mutex_);
  const uint32_t count = area_ != nullptr ? area_->slot_count() : 0;
  auto check = [count](uint32_t slot, const std::string& what) {
    if (count == 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s is in staging slot %u but no staging area was granted", what,
          slot));
    }
    if (slot >= count) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s is in staging slot %u, outside the area's %u "
                          "slots",
                          what, slot, count));
    }
    return absl::OkStatus();
  };
  if (answer.has_page() && answer.page().has_staging_slot()) {
    RETURN_IF_ERROR(check(answer.page().staging_slot(), "the page"));
  }
  for (const v1::ExtraPage& extra : answer.extra_pages()) {
    if (!extra.has_staging_slot()) continue;
    RETURN_IF_ERROR(
        check(extra.staging_slot(),
              absl::StrFormat("extra page at %#x", extra.offset())));
  }
  return absl::OkStatus();
}

absl::StatusOr<const uint8_t*> StagingSlots::Page(uint32_t slot) const {
  absl::MutexLock lock(&mutex_);
  if (area_ == nullptr || slot >= area_->slot_count()) {
    return absl::InternalError(
        absl::StrFormat("staging slot %u has no mapping", slot));
  }
  return area_->page(slot);
}

bool StagingSlots::Release(const v1::FaultAnswer& answer) {
  absl::MutexLock lock(&mutex_);
  const uint32_t count = area_ != nullptr ? area_->slot_count() : 0;
  auto release = [&](uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (slot < count) pending_.push_back(slot);
  };
  if (answer.has_page() && answer.page().has_staging_slot()) {
    release(answer.page().staging_slot());
  }
  for (const v1::ExtraPage& extra : answer.extra_pages()) {
    if (extra.has_staging_slot()) release(extra.staging_slot());
  }
  return pending_.size() >= kReleaseBatch;
}

std::vector<uint32_t> StagingSlots::TakeReleases(uint64_t generation) {
  absl::MutexLock lock(&mutex_);
  if (generation != generation_) return {};
  return std::exchange(pending_, {});
}

bool StagingSlots::has_pending_releases() const {
  absl::MutexLock lock(&mutex_);
  return !pending_.empty();
}

uint32_t StagingSlots::slot_count() const {
  absl::MutexLock lock(&mutex_);
  return area_ != nullptr ? area_->slot_count() : 0;
}

}  // namespace faultline::vmm
