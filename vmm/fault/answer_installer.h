// Applies checked answers to guest memory, and nothing else: pages (inline,
// or one UFFDIO_COPY straight from a staging slot), zeroes, prefetched pages
// (installed without waking, then one wake for all), device frames (a
// MAP_SHARED mapping of the session's device file at the faulting page,
// then a wake), poisoned pages, revocations (a fresh registered placeholder
// over a mapped frame) and the loader's pages. It knows guest memory, the
// userfaultfd, the device files of the latest attach and the staging slots,
// never the pending faults: it returns what it installed, and the engine
// updates its table.
//
// Threading: UseGrants(), InstallPages(), MapFrame(), Poison() and Revoke()
// run on the transport's stream thread (one answer at a time); LoadPage()
// before the vCPUs start. Rules() and can_poison() may be called from any
// thread. Revoke() waits in mremap until the userfaultfd reader reads the
// remap event, so it must never run on the reader thread.
#ifndef FAULTLINE_VMM_FAULT_ANSWER_INSTALLER_H_
#define FAULTLINE_VMM_FAULT_ANSWER_INSTALLER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/base/unique_fd.h"
#include "proto/faultline/v1/broker.pb.h"
#include "vmm/fault/fault_policy.h"
#include "vmm/fault/fault_stats.h"
#include "vmm/fault/userfaultfd.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/transport/staging_slots.h"

namespace faultline::vmm {

// One page a page or zero answer carries: its region offset and its bytes
// (nullptr for a zero page), read from a staging slot or inline.
struct AnswerPage {
  uint64_t offset = 0;
  const uint8_t* bytes = nullptr;
  bool staged = false;
};

// The pages of a checked page or zero answer: the answered page first, then
// its extra pages. Staged bytes are read through `slots`.
absl::StatusOr<std::vector<AnswerPage>> AnswerPages(
    const v1::FaultAnswer& answer, const StagingSlots& slots);

class AnswerInstaller {
 public:
  // The page an answer is applied to.
  struct Target {
    uint32_t region_id = 0;
    uint64_t offset = 0;
    uint64_t host_page = 0;
  };

  // Everything must outlive the installer; `stats` counts what it installs.
  AnswerInstaller(const GuestMemory* memory, Userfaultfd* uffd,
                  const StagingSlots* slots, FaultStats* stats)
      : memory_(memory), uffd_(uffd), slots_(slots), stats_(stats) {}

  AnswerInstaller(const AnswerInstaller&) = delete;
  AnswerInstaller& operator=(const AnswerInstaller&) = delete;

  // A new session's grants: the device files frames are mapped from. A file
  // that cannot be opened is logged, and that region's frame answers are
  // then refused as outside the device.
  void UseGrants(const v1::AttachResponse& response);
  // What answers for region `region_id` are checked against; nullopt for a
  // region outside guest memory.
  std::optional<RegionRules> Rules(uint32_t region_id) const;

  // Installs a checked page or zero answer and its extra pages, and wakes
  // every thread waiting on them. Returns the host pages of the extra pages
  // it installed (faults waiting on those are served as well). EEXIST
  // means another answer got there first: counted, woken, never a failure.
  absl::StatusOr<std::vector<uint64_t>> InstallPages(
      const v1::FaultAnswer& answer, const Target& target);
  // Maps `frame` of the region's device file at the page, then wakes.
  absl::Status MapFrame(const Target& target, uint64_t frame);
  // Poisons the page (the thread that touches it gets SIGBUS). False when a
  // page got there first (a prefetch raced the error): it is woken and good.
  absl::StatusOr<bool> Poison(const Target& target);
  // Puts a fresh placeholder over the device page at `offset` of the region
  // (checked by ValidateRevocation): its next touch faults again.
  absl::Status Revoke(uint32_t region_id, uint64_t offset);
  // A loader page at `guest_physical` (nullptr: zeroes), counted as loaded.
  absl::Status LoadPage(uint64_t guest_physical, const uint8_t* page);

  bool can_poison() const { return uffd_->has_poison(); }

 private:
  struct DeviceFile {
    std::shared_ptr<UniqueFd> file;
    uint64_t frame_count = 0;
  };

  // Copies or zeroes one page at `address`.
  absl::Status Put(uint64_t address, const AnswerPage& page, bool wake);

  const GuestMemory* const memory_;
  Userfaultfd* const uffd_;
  const StagingSlots* const slots_;
  FaultStats* const stats_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<uint32_t, DeviceFile> device_files_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_ANSWER_INSTALLER_H_
