// Background fill, as CRIU's lazy pages and QEMU's postcopy do: once a VM is
// attached, RAM pages the guest has not touched are asked for and installed
// behind its back, in FillPlan's order (a recorded working set first, then
// address order), until the plan is done or the fill is stopped.
//
// Rules: guest faults always go first (in address order an ask goes out only
// while no guest fault is waiting; a replay's asks, the pages the guest
// faults on next, keep going; asks_in_flight at a time, so a fault waits
// behind at most that many fill answers); the rate is bounded; pages are
// installed with UFFDIO_COPY_MODE_DONTWAKE and runs of zero pages with one
// UFFDIO_ZEROPAGE, then one wake for the run (a vCPU may have faulted on a
// page meanwhile). userfaultfd never installs over a present page: a page
// the guest got first (and may have written) answers EEXIST, is counted and
// left alone. Retry answers put the run back and pause; errors and
// anything unexpected drop the run (the guest's own fault will see it).
//
// Asks travel on the engine's stream as FaultRequests whose ids have the top
// bit set (IsFillId), so the engine hands their answers here.
//
// Threading: Start() starts one thread, which asks; OnAnswer() and
// OnStreamOpen() run on the transport's stream thread; Stop() joins. The
// hooks are called without any lock of the fill held.
#ifndef FAULTLINE_VMM_FAULT_BACKGROUND_FILL_H_
#define FAULTLINE_VMM_FAULT_BACKGROUND_FILL_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.pb.h"
#include "vmm/fault/fault_stats.h"
#include "vmm/fault/fill_plan.h"
#include "vmm/fault/userfaultfd.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/transport/staging_slots.h"

namespace faultline::vmm {

struct BackgroundFillOptions {
  bool address_order = false;          // every RAM page, after the replay
  std::vector<WorkingSetPage> replay;  // installed first, in this order
  uint32_t pages_per_second = 50'000;  // bound on the fill's rate
  uint32_t max_run_pages = 65;         // one page and 64 prefetched
  // Asks out at once. More hides the round trip (the fill keeps ahead of
  // a guest walking the same order); a guest fault may then wait behind
  // that many fill answers.
  uint32_t asks_in_flight = 4;
  absl::Duration ask_deadline = absl::Seconds(10);
  // Skip pages mincore says are resident. Off (tests): every page is asked
  // for, and the present ones meet EEXIST.
  bool probe_residency = true;

  bool enabled() const { return address_order || !replay.empty(); }
};

class BackgroundFill {
 public:
  struct Hooks {
    // Writes on the stream: its generation, or 0 when none is open.
    std::function<uint64_t(const v1::FaultStreamRequest&)> send;
    // Whether guest faults are waiting for answers (they go first).
    std::function<bool()> guest_faults_waiting;
    // Host pages the fill installed (and woke): faults on them are served.
    std::function<void(const std::vector<uint64_t>& host_pages)> installed;
  };

  static constexpr uint64_t kFillIdBit = uint64_t{1} << 63;
  static bool IsFillId(uint64_t fault_id) {
    return (fault_id & kFillIdBit) != 0;
  }

  // `memory`, `uffd`, `slots` (the session's staging slots, which answers
  // name) and `stats` must outlive the fill; only RAM regions among
  // `regions` are filled.
  BackgroundFill(const GuestMemory* memory, Userfaultfd* uffd,
                 const StagingSlots* slots, FaultStats* stats,
                 const std::vector<v1::Region>& regions,
                 BackgroundFillOptions options, Hooks hooks);
  ~BackgroundFill();

  BackgroundFill(const BackgroundFill&) = delete;
  BackgroundFill& operator=(const BackgroundFill&) = delete;

  void Start();
  void Stop();

  // An answer to a fill ask (IsFillId); its slots are released after.
  void OnAnswer(const v1::FaultAnswer& answer);
  // A new stream: an ask on the old one will never be answered.
  void OnStreamOpen();

  // Whether the plan has run out (every page resident or dropped).
  bool done() const;

 private:
  struct Ask {
    uint64_t id = 0;
    FillRun run;
    absl::Time sent;
  };

  void Loop();
  // Whether the page is resident (mincore, 64 pages at a time).
  bool Resident(uint32_t region_id, uint64_t offset);
  // Installs the checked page or zero answer; returns the host pages put.
  std::vector<uint64_t> Install(const v1::FaultAnswer& answer,
                                const MappedRegion& region);
  void InstallZeroRun(uint64_t address, uint64_t pages,
                      std::vector<uint64_t>* installed);
  void Count(FaultStats::Counter counter, uint64_t n = 1) {
    stats_->Count(counter, n);
  }

  const GuestMemory* const memory_;
  Userfaultfd* const uffd_;
  const StagingSlots* const slots_;
  FaultStats* const stats_;
  const BackgroundFillOptions options_;
  const Hooks hooks_;
  std::vector<v1::Region> ram_;
  std::thread thread_;

  // The asking thread's own: the plan and the mincore cache.
  FillPlan plan_;
  uint64_t cached_chunk_ = ~uint64_t{0};
  std::vector<unsigned char> cached_residency_;

  mutable absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool done_ ABSL_GUARDED_BY(mutex_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mutex_) = 1;
  absl::flat_hash_map<uint64_t, Ask> in_flight_ ABSL_GUARDED_BY(mutex_);
  std::vector<FillRun> put_back_ ABSL_GUARDED_BY(mutex_);
  absl::Time paused_until_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_BACKGROUND_FILL_H_
