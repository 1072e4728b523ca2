#include "vmm/fault/answer_installer.h"

#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_format.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::vmm {
namespace {

namespace wire = ::faultline::v1::wire;

absl::StatusOr<AnswerPage> PageOf(uint64_t offset, bool zero, bool staged,
                                  uint32_t slot, const std::string& data,
                                  const StagingSlots& slots) {
  AnswerPage page;
  page.offset = offset;
  page.staged = staged;
  if (zero) return page;
  if (staged) {
    ASSIGN_OR_RETURN(page.bytes, slots.Page(slot));
  } else {
    page.bytes = reinterpret_cast<const uint8_t*>(data.data());
  }
  return page;
}

}  // namespace

absl::StatusOr<std::vector<AnswerPage>> AnswerPages(
    const v1::FaultAnswer& answer, const StagingSlots& slots) {
  std::vector<AnswerPage> pages;
  pages.reserve(1 + answer.extra_pages_size());
  const v1::PageAnswer& page = answer.page();
  ASSIGN_OR_RETURN(
      AnswerPage answered,
      PageOf(answer.offset(), answer.has_zero(), page.has_staging_slot(),
             page.staging_slot(), page.data(), slots));
  pages.push_back(answered);
  for (const v1::ExtraPage& extra : answer.extra_pages()) {
    ASSIGN_OR_RETURN(
        AnswerPage prefetched,
        PageOf(extra.offset(), extra.has_zero(), extra.has_staging_slot(),
               extra.staging_slot(), extra.data(), slots));
    pages.push_back(prefetched);
  }
  return pages;
}

void AnswerInstaller::UseGrants(const v1::AttachResponse& response) {
  absl::MutexLock lock(&mutex_);
  for (const v1::RegionGrant& grant : response.regions()) {
    const MappedRegion* region = memory_->FindRegion(grant.region_id());
    if (region == nullptr || region->spec.kind != RegionKind::kDeviceWindow) {
      continue;
    }
    const int fd =
        ::open(grant.device_memory_path().c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      std::fprintf(stderr,
                   "vmm: cannot open device memory %s for region %u: %s\n",
                   grant.device_memory_path().c_str(), grant.region_id(),
                   std::string(ErrnoError("open").message()).c_str());
      device_files_.erase(grant.region_id());
      continue;
    }
    device_files_[grant.region_id()] =
        DeviceFile{std::make_shared<UniqueFd>(fd), grant.device_frame_count()};
  }
}

std::optional<RegionRules> AnswerInstaller::Rules(uint32_t region_id) const {
  const MappedRegion* region = memory_->FindRegion(region_id);
  if (region == nullptr) return std::nullopt;
  RegionRules rules;
  rules.region_id = region_id;
  rules.device = region->spec.kind == RegionKind::kDeviceWindow;
  rules.size_bytes = region->spec.size_bytes;
  absl::MutexLock lock(&mutex_);
  auto file = device_files_.find(region_id);
  if (rules.device && file != device_files_.end()) {
    rules.frame_count = file->second.frame_count;
  }
  return rules;
}

absl::Status AnswerInstaller::Put(uint64_t address, const AnswerPage& page,
                                  bool wake) {
  absl::Status status =
      page.bytes == nullptr
          ? uffd_->ZeroPage(address, wire::kPageBytes, wake)
          : uffd_->Copy(address, page.bytes, wire::kPageBytes, wake);
  if (page.staged && status.ok()) {
    stats_->Count(FaultStats::Counter::kStagedPages);
  }
  return status;
}

absl::StatusOr<std::vector<uint64_t>> AnswerInstaller::InstallPages(
    const v1::FaultAnswer& answer, const Target& target) {
  ASSIGN_OR_RETURN(const std::vector<AnswerPage> pages,
                   AnswerPages(answer, *slots_));
  const bool has_extras = pages.size() > 1;
  absl::Status status = Put(target.host_page, pages[0], !has_extras);
  if (absl::IsAlreadyExists(status)) {
    stats_->Count(FaultStats::Counter::kAlreadyResolved);
    status = uffd_->Wake(target.host_page, wire::kPageBytes);
  }
  RETURN_IF_ERROR(status);
  stats_->Count(answer.has_zero() ? FaultStats::Counter::kZeros
                                  : FaultStats::Counter::kPages);
  std::vector<uint64_t> covered;
  if (!has_extras) return covered;

  const uint64_t region_base = reinterpret_cast<uint64_t>(
      memory_->FindRegion(target.region_id)->host_base());
  uint64_t low = target.host_page;
  uint64_t high = target.host_page + wire::kPageBytes;
  for (size_t i = 1; i < pages.size(); ++i) {
    const uint64_t address = region_base + pages[i].offset;
    absl::Status installed = Put(address, pages[i], false);
    if (absl::IsAlreadyExists(installed)) continue;  // already there
    RETURN_IF_ERROR(installed);
    stats_->Count(FaultStats::Counter::kExtraPages);
    covered.push_back(address);
    low = std::min(low, address);
    high = std::max(high, address + wire::kPageBytes);
  }
  // One wake for the faulting page and every prefetched page a thread may
  // already be waiting on.
  RETURN_IF_ERROR(uffd_->Wake(low, high - low));
  return covered;
}

absl::Status AnswerInstaller::MapFrame(const Target& target, uint64_t frame) {
  std::shared_ptr<UniqueFd> file;
  {
    absl::MutexLock lock(&mutex_);
    auto it = device_files_.find(target.region_id);
    if (it == device_files_.end()) {
      return absl::FailedPreconditionError("no device memory file");
    }
    file = it->second.file;
  }
  void* mapped =
      ::mmap(reinterpret_cast<void*>(target.host_page), wire::kPageBytes,
             PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED | MAP_POPULATE,
             file->get(), static_cast<off_t>(frame * wire::kPageBytes));
  if (mapped == MAP_FAILED) {
    return ErrnoError(absl::StrFormat("mmap frame %u", frame));
  }
  RETURN_IF_ERROR(uffd_->Wake(target.host_page, wire::kPageBytes));
  stats_->Count(FaultStats::Counter::kFrames);
  return absl::OkStatus();
}

absl::StatusOr<bool> AnswerInstaller::Poison(const Target& target) {
  // Poisoning wakes the waiting thread: a vCPU re-enters the guest, touches
  // the page and gets the machine check (vmm/vcpu/machine_check.h).
  absl::Status poisoned = uffd_->Poison(target.host_page, wire::kPageBytes);
  if (absl::IsAlreadyExists(poisoned)) {
    stats_->Count(FaultStats::Counter::kAlreadyResolved);
    RETURN_IF_ERROR(uffd_->Wake(target.host_page, wire::kPageBytes));
    return false;
  }
  RETURN_IF_ERROR(poisoned);
  stats_->Count(FaultStats::Counter::kPoisoned);
  return true;
}

absl::Status AnswerInstaller::Revoke(uint32_t region_id, uint64_t offset) {
  const MappedRegion* region = memory_->FindRegion(region_id);
  if (region == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrFormat("no region %u to revoke a frame of", region_id));
  }
  // A fresh placeholder replaces the frame; the next touch faults again.
  return uffd_->ReplaceWithPlaceholder(
      reinterpret_cast<uint64_t>(region->host_base() + offset),
      wire::kPageBytes);
}

absl::Status AnswerInstaller::LoadPage(uint64_t guest_physical,
                                       const uint8_t* page) {
  ASSIGN_OR_RETURN(uint8_t * host,
                   memory_->HostAddress(guest_physical, wire::kPageBytes));
  const auto address = reinterpret_cast<uint64_t>(host);
  RETURN_IF_ERROR(page != nullptr
                      ? uffd_->Copy(address, page, wire::kPageBytes, true)
                      : uffd_->ZeroPage(address, wire::kPageBytes, true));
  stats_->Count(FaultStats::Counter::kLoadedPages);
  return absl::OkStatus();
}

}  // namespace faultline::vmm
