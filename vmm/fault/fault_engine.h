// The fault engine of one VM: reads userfaultfd events for guest memory,
// asks the broker (through BrokerTransport) what backs each page, checks each
// answer with fault_policy and applies it: UFFDIO_COPY for pages, ZEROPAGE
// for zeroes, a MAP_SHARED mapping of the device file for frames, a re-ask
// later for retries, a poisoned page or a stop of the VM (the fatal
// callback) for errors, and a stop for exhausted budgets and passed
// deadlines. Also installs the loader's pages.
//
// Threading: Create() starts two threads: the userfaultfd reader (which also
// sends due retries and checks deadlines) and the transport's stream thread
// (which applies answers). Public methods may be called from any thread.
// The fatal callback runs at most once, on one of those threads, and must not
// call back into the engine.
#ifndef FAULTLINE_VMM_FAULT_FAULT_ENGINE_H_
#define FAULTLINE_VMM_FAULT_FAULT_ENGINE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/base/unique_fd.h"
#include "proto/faultline/v1/broker.pb.h"
#include "vmm/fault/broker_transport.h"
#include "vmm/fault/device_page_event.h"
#include "vmm/fault/fault_policy.h"
#include "vmm/fault/fault_stats.h"
#include "vmm/fault/staging_mapping.h"
#include "vmm/fault/userfaultfd.h"
#include "vmm/memory/guest_memory.h"

namespace faultline::vmm {

enum class FatalKind {
  kFaultDeadline,      // a fault was not served in time
  kBrokerUnreachable,  // ... while the broker could not be reached
  kErrorAnswer,        // the broker answered error
  kInternal,           // a host-side operation failed
};

struct FatalFault {
  FatalKind kind;
  std::string message;
};

class FaultEngine : private BrokerTransport::Listener {
 public:
  using FatalCallback = std::function<void(const FatalFault&)>;

  struct Options {
    // Regions as attached: ids, bases and sizes must match `memory`.
    BrokerTransport::Options transport;
    RetryOptions retry;
    uint32_t prefetch_hint = 0;
    // An error answer poisons the page (UFFDIO_POISON) so the vCPU that
    // touches it gets a machine check, instead of stopping the VM. Falls
    // back to stopping where the kernel cannot poison.
    bool poison_error_pages = false;
    // Optional, for a device model that tells the guest (on the stream
    // thread, or the reader thread for kGaveUp): what became of each
    // device-window page. Must not call back into the engine.
    std::function<void(const DevicePageEvent&)> on_device_page;
    // Optional: called on the stream thread before a revoked frame is
    // unmapped, so the device model can make the guest let go of it first;
    // may block, bounded.
    std::function<void(uint32_t region_id, uint64_t offset)> before_revocation;
  };

  // Registers every region of `memory` with a new userfaultfd and attaches.
  // `memory` must outlive the engine.
  static absl::StatusOr<std::unique_ptr<FaultEngine>> Create(
      const GuestMemory* memory, Options options, FatalCallback on_fatal);
  ~FaultEngine() override;

  FaultEngine(const FaultEngine&) = delete;
  FaultEngine& operator=(const FaultEngine&) = delete;

  // Loader pages: installed before the guest runs, counted as loaded.
  // `page` of kFaultPageBytes bytes, or nullptr for a zero page.
  absl::Status LoadPage(uint64_t guest_physical, const uint8_t* page);

  // Asks the broker for the device page at `offset` of region `region_id`
  // with no vCPU waiting (a guest driver's PREPARE, device_prepare.cc); the
  // outcome reaches on_device_page. A page already asked for is not asked
  // again. Neither a deadline nor an error answer stops the VM for it
  // unless a vCPU touches the page meanwhile.
  absl::Status PrepareDevicePage(uint32_t region_id, uint64_t offset);

  // Attributes faults of thread `thread_id` to vCPU `vcpu`.
  void RegisterVcpuThread(uint32_t thread_id, uint32_t vcpu);

  // Stops asking and detaches; threads blocked on unresolved faults are
  // released when the engine is destroyed (the userfaultfd closes).
  void Stop();

  FaultStats& stats() { return stats_; }
  size_t faults_in_flight() const;
  // Whether error answers become poisoned pages (options and kernel allow).
  bool poisons_error_pages() const;

 private:
  struct Region {
    const MappedRegion* mapped;
    RegionRules rules;  // frame_count comes from device_files_
  };

  // The device memory file of a device region, from the latest attach.
  struct DeviceFile {
    std::shared_ptr<UniqueFd> file;
    uint64_t frame_count = 0;
  };

  struct PendingFault {
    uint64_t id = 0;
    uint32_t region_id = 0;
    uint64_t offset = 0;
    uint64_t host_page = 0;
    v1::AccessKind access = v1::ACCESS_KIND_READ;
    uint32_t vcpu = 0xFFFFFFFF;
    uint32_t attempt = 0;
    uint64_t sent_generation = 0;
    absl::Time first_asked;
    uint32_t retries = 0;
    bool waiting_retry = false;
    absl::Time retry_at;
    std::string last_reason = "waiting for the broker's answer";
    // A vCPU (or another host thread) is blocked on the page; false for a
    // page asked for by PrepareDevicePage alone.
    bool vcpu_waiting = true;
  };

  FaultEngine(const GuestMemory* memory, Options options,
              std::unique_ptr<Userfaultfd> uffd, UniqueFd wake_fd,
              FatalCallback on_fatal);

  // BrokerTransport::Listener.
  void OnAttached(const v1::AttachResponse& response,
                  std::shared_ptr<const StagingMapping> staging) override;
  void OnStreamOpen(uint64_t generation) override;
  void OnAnswer(const v1::FaultAnswer& answer) override;
  void OnRevocation(const v1::FrameRevocation& revocation) override;
  void OnDisconnected(const absl::Status& why) override;

  void ReaderLoop();
  void HandleUserFault(const UserFault& fault);
  void SendFault(uint64_t fault_id);
  void SendDueRetries();
  void CheckDeadlines();
  absl::Time NextWakeup() const;
  void Nudge();

  // Answer application (fault_engine_install.cc); each returns a failure
  // only for host-side errors. `staging` holds the answer's slots, if any.
  absl::Status InstallPageOrZero(const v1::FaultAnswer& answer,
                                 const PendingFault& fault, bool zero,
                                 const StagingMapping* staging);
  absl::Status MapFrame(const PendingFault& fault, uint64_t frame);
  // Applies an error answer: poisons the page, or stops the VM.
  void ApplyError(const v1::FaultAnswer& answer, const PendingFault& fault);
  void ScheduleRetry(uint64_t fault_id, absl::Duration hint,
                     const std::string& reason, const std::string& detail);
  void Resolve(uint64_t fault_id);
  void Fail(FatalKind kind, const std::string& message);
  // device_prepare.cc: tells the device model, if any.
  void TellDevice(const PendingFault& fault, DevicePageEvent event);
  // A fault no vCPU waits for leaves the table instead of stopping the VM.
  void GiveUpUnwatched(uint64_t fault_id, const std::string& why);
  std::string DescribePage(const PendingFault& fault) const;

  const GuestMemory* const memory_;
  const Options options_;
  const std::unique_ptr<Userfaultfd> uffd_;
  const UniqueFd wake_fd_;
  const FatalCallback on_fatal_;
  std::map<uint32_t, Region> regions_;  // fixed after Create
  FaultStats stats_;
  std::unique_ptr<BrokerTransport> transport_;
  std::thread reader_;

  mutable absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // Set after the transport is down: until then the reader keeps reading
  // events, which a revocation's mremap waits for.
  bool reader_exit_ ABSL_GUARDED_BY(mutex_) = false;
  bool failed_ ABSL_GUARDED_BY(mutex_) = false;
  bool connected_ ABSL_GUARDED_BY(mutex_) = false;
  bool ever_connected_ ABSL_GUARDED_BY(mutex_) = false;
  std::string transport_error_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_fault_id_ ABSL_GUARDED_BY(mutex_) = 1;
  absl::flat_hash_map<uint64_t, PendingFault> in_flight_
      ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<uint64_t, uint64_t> fault_by_page_
      ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<uint32_t, uint32_t> vcpu_by_thread_
      ABSL_GUARDED_BY(mutex_);
  // Device files are swapped by a re-attach, while answers are applied.
  mutable absl::Mutex files_mutex_;
  absl::flat_hash_map<uint32_t, DeviceFile> device_files_
      ABSL_GUARDED_BY(files_mutex_);
  // The current session's staging area; null without one.
  std::shared_ptr<const StagingMapping> staging_ ABSL_GUARDED_BY(files_mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_FAULT_ENGINE_H_
