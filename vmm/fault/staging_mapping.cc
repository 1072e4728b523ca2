#include "vmm/fault/staging_mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <utility>

#include "absl/strings/str_format.h"
#include "proto/base/errno_status.h"
#include "proto/base/unique_fd.h"
#include "vmm/fault/fault_policy.h"

namespace faultline::vmm {

absl::StatusOr<std::unique_ptr<StagingMapping>> StagingMapping::Open(
    const v1::StagingArea& area) {
  if (area.slot_size() != kFaultPageBytes || area.slot_count() == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "staging area %s: %u slots of %u bytes; need at least one slot of %u",
        area.path(), area.slot_count(), area.slot_size(), kFaultPageBytes));
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
  const uint64_t bytes = uint64_t{area.slot_count()} * kFaultPageBytes;
  if (static_cast<uint64_t>(info.st_size) < bytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("staging area %s has %d bytes, less than its %u slots",
                        area.path(), info.st_size, area.slot_count()));
  }
  void* base = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, file.get(), 0);
  if (base == MAP_FAILED) {
    return ErrnoError(absl::StrFormat("map staging area %s", area.path()));
  }
  return std::unique_ptr<StagingMapping>(new StagingMapping(
      area.path(), area.slot_count(), static_cast<const uint8_t*>(base)));
}

StagingMapping::~StagingMapping() {
  ::munmap(const_cast<uint8_t*>(base_), size_t{slot_count_} * kFaultPageBytes);
}

const uint8_t* StagingMapping::Slot(uint32_t slot) const {
  if (slot >= slot_count_) return nullptr;
  return base_ + size_t{slot} * kFaultPageBytes;
}

}  // namespace faultline::vmm
