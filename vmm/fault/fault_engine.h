// The fault engine of one VM: the threads and the glue between the
// userfaultfd, the pending-fault table (fault_table.h), the answer checks
// (fault_policy.h), the installer (answer_installer.h) and the broker
// transport (vmm/transport). A userfaultfd event becomes a fault request; an
// answer is checked and installed, asked again later (retry, or a rejected
// answer), poisoned or stopped on (error), and the VM is stopped when a
// fault exhausts its budget or deadline. Also installs the loader's pages.
//
// Threading: Create() starts two threads.
//  - The userfaultfd reader: reads events, sends new faults and due
//    retries, flushes staging slot releases and checks deadlines.
//  - The transport's stream thread: applies answers and revocations (the
//    only thread that installs anything once the guest runs).
// Public methods may be called from any thread. The stop callback runs at
// most once, on one of those threads, and must not call back into the
// engine; so must the device page callback (stream thread).
#ifndef FAULTLINE_VMM_FAULT_FAULT_ENGINE_H_
#define FAULTLINE_VMM_FAULT_FAULT_ENGINE_H_

#include <cstdint>
#include <functional>
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
#include "vmm/fault/answer_installer.h"
#include "vmm/fault/attached_regions.h"
#include "vmm/fault/fault_policy.h"
#include "vmm/fault/fault_stats.h"
#include "vmm/fault/fault_table.h"
#include "vmm/fault/userfaultfd.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/stop/stop_reason.h"
#include "vmm/transport/broker_transport.h"
#include "vmm/transport/staging_slots.h"

namespace faultline::vmm {

// A device-window page became available (a frame was mapped at it) or
// unavailable (its frame was revoked, or the broker answered retry for it).
struct DevicePageEvent {
  uint32_t region_id = 0;
  uint64_t offset = 0;
  bool available = false;
  uint64_t frame = 0;  // when available
  // When unavailable: the retry's reason; RETRY_REASON_UNSPECIFIED when
  // the frame was revoked.
  v1::RetryReason reason = v1::RETRY_REASON_UNSPECIFIED;
};

class FaultEngine : private BrokerTransport::Listener {
 public:
  using StopCallback = std::function<void(const StopReason&)>;

  struct Options {
    // transport.session.regions is left empty: Create() derives the regions
    // from guest memory and `sources`.
    BrokerTransport::Options transport;
    RegionSources sources;
    RetryOptions retry;
    uint32_t prefetch_hint = 0;  // RAM faults; device faults ask for none
    // An error answer poisons the page (UFFDIO_POISON) so the vCPU that
    // touches it gets a machine check, instead of stopping the VM. Falls
    // back to stopping where the kernel cannot poison.
    bool poison_error_pages = false;
    // Optional: told of device page availability (on the stream thread),
    // for a device model that tells the guest.
    std::function<void(const DevicePageEvent&)> on_device_page;
  };

  // Registers every region of `memory` with a new userfaultfd and attaches
  // (errors typed as BrokerSession's). `memory` must outlive the engine.
  static absl::StatusOr<std::unique_ptr<FaultEngine>> Create(
      const GuestMemory* memory, Options options, StopCallback on_stop);
  ~FaultEngine() override;

  FaultEngine(const FaultEngine&) = delete;
  FaultEngine& operator=(const FaultEngine&) = delete;

  // Loader pages: installed before the guest runs, counted as loaded.
  // `page` of one page, or nullptr for a zero page; AlreadyExists when the
  // page is there.
  absl::Status LoadPage(uint64_t guest_physical, const uint8_t* page);

  // Attributes faults of thread `thread_id` to vCPU `vcpu`.
  void RegisterVcpuThread(uint32_t thread_id, uint32_t vcpu);

  // Stops asking and detaches; threads blocked on unresolved faults are
  // released when the engine is destroyed (the userfaultfd closes).
  void Stop();

  FaultStats& stats() { return stats_; }
  const FaultStats& stats() const { return stats_; }
  // The regions as attached (derived from guest memory and the sources).
  const std::vector<v1::Region>& regions() const {
    return options_.transport.session.regions;
  }
  size_t faults_in_flight() const { return table_.size(); }
  // Whether error answers become poisoned pages (options and kernel allow).
  bool poisons_error_pages() const;

 private:
  FaultEngine(const GuestMemory* memory, Options options,
              std::unique_ptr<Userfaultfd> uffd, UniqueFd wake_fd,
              StopCallback on_stop);

  // BrokerTransport::Listener, on the stream thread.
  absl::Status OnAttached(const v1::AttachResponse& response) override;
  void OnStreamOpen(uint64_t generation) override;
  void OnAnswer(const v1::FaultAnswer& answer) override;
  void OnRevocation(const v1::FrameRevocation& revocation) override;

  // The reader thread.
  void ReaderLoop();
  void HandleUserFault(const UserFault& fault);
  void SendFault(uint64_t fault_id);
  void CheckDeadlines();
  void Nudge();

  void ApplyAnswer(const v1::FaultAnswer& answer, const PendingFault& fault);
  void ApplyError(const v1::FaultAnswer& answer, const PendingFault& fault);
  // Plans the next ask; false when the fault gave up (the VM stops) or left.
  bool Retry(const PendingFault& fault, absl::Duration hint,
             const std::string& reason);
  void Resolve(uint64_t fault_id);
  void Fail(StopKind kind, const std::string& message,
            const PendingFault* fault = nullptr);
  void TellDevicePage(const DevicePageEvent& event);
  bool failed() const;
  std::string DescribePage(const PendingFault& fault) const;

  const GuestMemory* const memory_;
  const Options options_;
  const std::unique_ptr<Userfaultfd> uffd_;
  const UniqueFd wake_fd_;
  const StopCallback on_stop_;
  FaultStats stats_;
  StagingSlots slots_;
  FaultTable table_;
  AnswerInstaller installer_;
  std::unique_ptr<BrokerTransport> transport_;
  std::thread reader_;

  // The engine's own state: its lifecycle and the vCPU threads it knows.
  mutable absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // Set after the transport is down: until then the reader keeps reading
  // events, which a revocation's mremap waits for.
  bool reader_exit_ ABSL_GUARDED_BY(mutex_) = false;
  bool failed_ ABSL_GUARDED_BY(mutex_) = false;
  absl::flat_hash_map<uint32_t, uint32_t> vcpu_by_thread_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_FAULT_ENGINE_H_
