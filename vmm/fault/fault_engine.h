// The fault engine of one VM, split by concern as crosvm's swap/ is: this
// thin controller owns the threads and joins the parts. The asking side is
// here: a userfaultfd event becomes a pending fault (fault_table.h) and a
// request on the stream (vmm/transport's StreamWriter); faults not seen by a
// new stream are sent again; a fault past its deadline stops the VM. The
// answering side is AnswerHandler (answer_handler.h), which checks and
// applies what the broker sends through AnswerInstaller. Also installs the
// loader's pages.
//
// Threading: Create() starts two threads.
//  - The userfaultfd reader (this file): reads events, sends new faults and
//    due retries, flushes staging slot releases and checks deadlines.
//  - The transport's stream thread: AnswerHandler applies answers and
//    revocations on it (with the fault ring, also on the ring thread, one
//    at a time: the only threads that install anything once the guest
//    runs) and, when a stream opens, this engine resends on it.
// Public methods may be called from any thread. The stop callback runs at
// most once, on one of those threads, and must not call back into the
// engine; so must the device page callback (stream thread).
#ifndef FAULTLINE_VMM_FAULT_FAULT_ENGINE_H_
#define FAULTLINE_VMM_FAULT_FAULT_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/base/unique_fd.h"
#include "proto/faultline/v1/broker.pb.h"
#include "vmm/fault/answer_handler.h"
#include "vmm/fault/answer_installer.h"
#include "vmm/fault/attached_regions.h"
#include "vmm/fault/background_fill.h"
#include "vmm/fault/fault_policy.h"
#include "vmm/fault/fault_stats.h"
#include "vmm/fault/fault_table.h"
#include "vmm/fault/prefetch_window.h"
#include "vmm/fault/stop_latch.h"
#include "vmm/fault/userfaultfd.h"
#include "vmm/fault/working_set.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/stop/stop_reason.h"
#include "vmm/transport/broker_transport.h"
#include "vmm/transport/staging_slots.h"
#include "vmm/transport/stream_writer.h"

namespace faultline::vmm {

class FaultEngine {
 public:
  using StopCallback = StopLatch::Callback;

  struct Options {
    // transport.session.regions is left empty: Create() derives the regions
    // from guest memory and `sources`.
    BrokerTransport::Options transport;
    RegionSources sources;
    RetryOptions retry;
    // RAM faults ask for this many next pages (device faults for none);
    // adaptive: the window starts there and follows the guest
    // (prefetch_window.h).
    uint32_t prefetch_hint = 0;
    bool prefetch_adaptive = false;
    // An error answer poisons the page (UFFDIO_POISON) so the vCPU that
    // touches it gets a machine check, instead of stopping the VM. Falls
    // back to stopping where the kernel cannot poison.
    bool poison_error_pages = false;
    // Optional: told of device page availability (on the stream thread;
    // kGaveUp at a deadline on the reader thread), for a device model that
    // tells the guest.
    std::function<void(const DevicePageEvent&)> on_device_page;
    // Pages installed ahead of the guest once attached (off unless enabled;
    // a replay's pages must be checked against the regions).
    BackgroundFillOptions fill;
    // Told of every RAM page installed for a guest fault (the page, then
    // its prefetched pages), and written when the engine stops; optional.
    std::shared_ptr<WorkingSetRecorder> record;
    // Optional: called on the stream thread before a revoked frame is
    // unmapped, so the device model can make the guest let go of it first
    // (vmm/devices/pcimem_fault_bridge.h); may block, bounded.
    std::function<void(uint32_t region_id, uint64_t offset)> before_revocation;
  };

  // Registers every region of `memory` with a new userfaultfd and attaches
  // (errors typed as BrokerSession's). `memory` must outlive the engine.
  static absl::StatusOr<std::unique_ptr<FaultEngine>> Create(
      const GuestMemory* memory, Options options, StopCallback on_stop);
  ~FaultEngine();

  FaultEngine(const FaultEngine&) = delete;
  FaultEngine& operator=(const FaultEngine&) = delete;

  // Loader pages: installed before the guest runs, counted as loaded.
  // `page` of one page, or nullptr for a zero page; AlreadyExists when the
  // page is there.
  absl::Status LoadPage(uint64_t guest_physical, const uint8_t* page);

  // Asks the broker for the device page at `offset` of region `region_id`
  // with no vCPU waiting (a guest driver's PREPARE; device_prepare.cc); the
  // outcome reaches on_device_page. A page already in flight is not asked
  // again. Neither its deadline nor an error answer stops the VM, unless a
  // vCPU touches the page meanwhile. InvalidArgument for a page that is no
  // device page.
  absl::Status PrepareDevicePage(uint32_t region_id, uint64_t offset);

  // Attributes faults of thread `thread_id` to vCPU `vcpu`.
  void RegisterVcpuThread(uint32_t thread_id, uint32_t vcpu);

  // Stops asking and detaches; threads blocked on unresolved faults are
  // released when the engine is destroyed (the userfaultfd closes).
  void Stop();

  FaultStats& stats() { return stats_; }
  const FaultStats& stats() const { return stats_; }
  size_t faults_in_flight() const { return table_.size(); }
  // Whether error answers become poisoned pages (options and kernel allow).
  bool poisons_error_pages() const { return handler_.poisons_error_pages(); }
  // The regions as attached (derived from guest memory and the sources).
  const std::vector<v1::Region>& regions() const {
    return options_.transport.session.regions;
  }
  // Whether background fill has run out of pages (false without one).
  bool fill_done() const { return fill_ != nullptr && fill_->done(); }

 private:
  FaultEngine(const GuestMemory* memory, Options options,
              std::unique_ptr<Userfaultfd> uffd, UniqueFd wake_fd,
              StopCallback on_stop);

  void ReaderLoop();
  void HandleUserFault(const UserFault& fault);
  void SendFault(uint64_t fault_id);
  // On the stream thread: stream `generation` is open.
  void ResendOn(uint64_t generation);
  void CheckDeadlines();
  // A fault asked by PrepareDevicePage alone leaves at its deadline, and the
  // device model hears kGaveUp (device_prepare.cc).
  void GiveUpUnwatched(const PendingFault& fault);
  void Nudge();
  // On the stream thread: an answer for `fault` installed it and
  // `prefetched`; the prefetch window and the working-set record hear.
  void OnPagesInstalled(const PendingFault& fault,
                        const std::vector<uint64_t>& prefetched);

  const GuestMemory* const memory_;
  const Options options_;
  const std::unique_ptr<Userfaultfd> uffd_;
  const UniqueFd wake_fd_;
  FaultStats stats_;
  StopLatch stop_;
  StagingSlots slots_;
  FaultTable table_;
  AnswerInstaller installer_;
  StreamWriter writer_;
  AnswerHandler handler_;
  PrefetchWindow prefetch_window_;
  std::unique_ptr<BackgroundFill> fill_;  // null when off
  std::unique_ptr<BrokerTransport> transport_;
  std::thread reader_;

  // The engine's own state: its lifecycle and the vCPU threads it knows.
  mutable absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // Set after the transport is down: until then the reader keeps reading
  // events, which a revocation's mremap waits for.
  bool reader_exit_ ABSL_GUARDED_BY(mutex_) = false;
  absl::flat_hash_map<uint32_t, uint32_t> vcpu_by_thread_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_FAULT_ENGINE_H_
