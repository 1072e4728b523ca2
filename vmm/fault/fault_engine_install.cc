// Answer application of the fault engine: pages (inline or from a staging
// slot, one copy straight into the guest), zeroes, prefetched pages and
// device frames. Split from fault_engine.cc, which reads and asks.
#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "absl/strings/str_format.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"
#include "vmm/fault/fault_engine.h"

namespace faultline::vmm {
namespace {

// The page's bytes: inline, or in `slot` of the staging area (the answer
// was validated against the area's size, so a missing slot is a bug here).
absl::StatusOr<const uint8_t*> PageBytes(const std::string& data, bool staged,
                                         uint32_t slot,
                                         const StagingMapping* staging) {
  if (!staged) return reinterpret_cast<const uint8_t*>(data.data());
  const uint8_t* bytes = staging != nullptr ? staging->Slot(slot) : nullptr;
  if (bytes == nullptr) {
    return absl::InternalError(
        absl::StrFormat("staging slot %u has no mapping", slot));
  }
  return bytes;
}

}  // namespace

absl::Status FaultEngine::InstallPageOrZero(const v1::FaultAnswer& answer,
                                            const PendingFault& fault,
                                            bool zero,
                                            const StagingMapping* staging) {
  const bool has_extras = answer.extra_pages_size() > 0;
  const uint64_t region_base = reinterpret_cast<uint64_t>(
      regions_.at(fault.region_id).mapped->host_base());
  absl::Status status;
  const bool staged = !zero && answer.page().has_staging_slot();
  if (zero) {
    status = uffd_->ZeroPage(fault.host_page, kFaultPageBytes, !has_extras);
  } else {
    ASSIGN_OR_RETURN(const uint8_t* bytes,
                     PageBytes(answer.page().data(), staged,
                               answer.page().staging_slot(), staging));
    status = uffd_->Copy(fault.host_page, bytes, kFaultPageBytes, !has_extras);
    if (staged && status.ok()) stats_.Count(FaultStats::Counter::kStagedPages);
  }
  if (absl::IsAlreadyExists(status)) {
    stats_.Count(FaultStats::Counter::kAlreadyResolved);
    status = uffd_->Wake(fault.host_page, kFaultPageBytes);
  }
  RETURN_IF_ERROR(status);
  stats_.Count(zero ? FaultStats::Counter::kZeros
                    : FaultStats::Counter::kPages);
  if (!has_extras) return absl::OkStatus();

  uint64_t low = fault.host_page;
  uint64_t high = fault.host_page + kFaultPageBytes;
  std::vector<uint64_t> covered;
  for (const v1::ExtraPage& extra : answer.extra_pages()) {
    const uint64_t address = region_base + extra.offset();
    absl::Status installed;
    if (extra.has_zero()) {
      installed = uffd_->ZeroPage(address, kFaultPageBytes, false);
    } else {
      const bool staged = extra.has_staging_slot();
      ASSIGN_OR_RETURN(
          const uint8_t* bytes,
          PageBytes(extra.data(), staged, extra.staging_slot(), staging));
      installed = uffd_->Copy(address, bytes, kFaultPageBytes, false);
      if (staged && installed.ok()) {
        stats_.Count(FaultStats::Counter::kStagedPages);
      }
    }
    if (absl::IsAlreadyExists(installed)) continue;  // already there
    RETURN_IF_ERROR(installed);
    stats_.Count(FaultStats::Counter::kExtraPages);
    covered.push_back(address);
    low = std::min(low, address);
    high = std::max(high, address + kFaultPageBytes);
  }
  // One wake for the faulting page and every prefetched page a thread may
  // already be waiting on.
  RETURN_IF_ERROR(uffd_->Wake(low, high - low));
  absl::MutexLock lock(&mutex_);
  for (uint64_t address : covered) {
    auto by_page = fault_by_page_.find(address);
    if (by_page == fault_by_page_.end()) continue;
    in_flight_.erase(by_page->second);
    fault_by_page_.erase(by_page);
  }
  return absl::OkStatus();
}

absl::Status FaultEngine::MapFrame(const PendingFault& fault, uint64_t frame) {
  std::shared_ptr<UniqueFd> file;
  {
    absl::MutexLock lock(&files_mutex_);
    auto it = device_files_.find(fault.region_id);
    if (it == device_files_.end()) {
      return absl::FailedPreconditionError("no device memory file");
    }
    file = it->second.file;
  }
  void* mapped =
      ::mmap(reinterpret_cast<void*>(fault.host_page), kFaultPageBytes,
             PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED | MAP_POPULATE,
             file->get(), static_cast<off_t>(frame * kFaultPageBytes));
  if (mapped == MAP_FAILED) {
    return ErrnoError(absl::StrFormat("mmap frame %u", frame));
  }
  RETURN_IF_ERROR(uffd_->Wake(fault.host_page, kFaultPageBytes));
  stats_.Count(FaultStats::Counter::kFrames);
  return absl::OkStatus();
}

bool FaultEngine::poisons_error_pages() const {
  return options_.poison_error_pages && uffd_->has_poison();
}

void FaultEngine::ApplyError(const v1::FaultAnswer& answer,
                             const PendingFault& fault) {
  stats_.Count(FaultStats::Counter::kErrors);
  const std::string what =
      absl::StrFormat("broker answered error (%s: %s) for %s",
                      ErrorKindName(answer.error().kind()),
                      answer.error().message(), DescribePage(fault));
  if (regions_.at(fault.region_id).rules.device) {
    DevicePageEvent event;
    event.kind = DevicePageEvent::Kind::kError;
    event.error_kind = answer.error().kind();
    TellDevice(fault, event);
    // Asked by the guest's driver with no vCPU waiting: the driver gives
    // the process that wanted it SIGBUS; nothing to poison or stop.
    if (!fault.vcpu_waiting) {
      absl::FPrintF(stderr, "vmm: %s: told the device\n", what);
      Resolve(fault.id);
      return;
    }
  }
  if (!poisons_error_pages()) {
    Fail(FatalKind::kErrorAnswer, what);
    return;
  }
  // Poisoning wakes the waiting thread: a vCPU re-enters the guest, touches
  // the page and gets the machine check (vmm/vcpu/machine_check.h).
  absl::Status poisoned = uffd_->Poison(fault.host_page, kFaultPageBytes);
  if (absl::IsAlreadyExists(poisoned)) {
    // Filled meanwhile (a prefetch raced the error): the page is good.
    stats_.Count(FaultStats::Counter::kAlreadyResolved);
    poisoned = uffd_->Wake(fault.host_page, kFaultPageBytes);
  } else if (poisoned.ok()) {
    stats_.Count(FaultStats::Counter::kPoisoned);
    absl::FPrintF(stderr,
                  "vmm: %s: page poisoned, the guest gets a machine check on "
                  "access\n",
                  what);
  }
  if (!poisoned.ok()) {
    Fail(FatalKind::kInternal,
         absl::StrFormat("poisoning after %s: %s", what, poisoned.message()));
    return;
  }
  Resolve(fault.id);
}

}  // namespace faultline::vmm
