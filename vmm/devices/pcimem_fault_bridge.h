// Joins the PCI memory device's page events (window_pages.h) to the fault
// engine, in both directions, in units of the device window:
//  - the guest's PREPARE of a window page becomes a request for that device
//    page with no vCPU waiting (the `prepare` callback, the fault engine);
//  - what the broker answered for a window page (a frame mapped, a retry
//    with its reason, an error with its kind) becomes the page's state in
//    the device, an event and an MSI;
//  - a revocation asks the device first (BeginRevocation): when the guest
//    may have the frame mapped, LetGo() waits, bounded, for the guest's
//    REVOKE_ACK before the fault engine unmaps; then PageRevoked.
// Protocol v1's reasons become guest_abi.h's (their order is kept).
//
// Threading: Connect() once, before the guest runs. The fault-engine side
// (FrameMapped .. LetGo) may be called from any thread, normally the
// engine's stream thread; LetGo() blocks up to the acknowledgement
// deadline and must not run on a thread the acknowledgement depends on
// (the userfaultfd reader). The WindowPageRequests side runs on vCPU
// threads and never blocks.
#ifndef FAULTLINE_VMM_DEVICES_PCIMEM_FAULT_BRIDGE_H_
#define FAULTLINE_VMM_DEVICES_PCIMEM_FAULT_BRIDGE_H_

#include <cstdint>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.pb.h"
#include "vmm/devices/window_pages.h"

namespace faultline::vmm {

// guest_abi.h's reason for a broker retry reason or error kind.
uint8_t PciMemRetryReason(v1::RetryReason reason);
uint8_t PciMemErrorReason(v1::ErrorKind kind);

class PciMemFaultBridge : public WindowPageRequests {
 public:
  // Asks the fault path for the window page at `offset` (bytes); a failure
  // makes the page an error (HOST_FAILURE).
  using PrepareCallback = std::function<absl::Status(uint64_t offset)>;

  // `ack_deadline`: how long a revocation waits for the guest's
  // acknowledgement before the frame is unmapped anyway.
  explicit PciMemFaultBridge(absl::Duration ack_deadline);

  PciMemFaultBridge(const PciMemFaultBridge&) = delete;
  PciMemFaultBridge& operator=(const PciMemFaultBridge&) = delete;

  // `device` (not owned) outlives the bridge. Until both are connected,
  // reports are dropped and PREPAREs answered as errors (no guest runs).
  void Connect(WindowPageEvents* device, PrepareCallback prepare);

  // The fault-engine side, by window offset in bytes.
  void FrameMapped(uint64_t offset);
  void RetryAnswered(uint64_t offset, v1::RetryReason reason);
  void ErrorAnswered(uint64_t offset, v1::ErrorKind kind);
  // The fault path stopped asking (its deadline or retry budget): TIMED_OUT.
  void GaveUp(uint64_t offset);
  // Before the frame at `offset` is unmapped: returns once the guest has
  // let it go, or it never mapped it, or the deadline passed (counted).
  void LetGo(uint64_t offset);
  void Revoked(uint64_t offset);

  // WindowPageRequests (vCPU threads).
  void PreparePage(uint64_t page) override;
  void RevocationAcknowledged(uint64_t page) override;

  struct Counts {
    uint64_t prepares = 0;
    uint64_t acknowledged = 0;  // revocations the guest let go in time
    uint64_t ack_timeouts = 0;  // revocations unmapped without it
  };
  Counts counts() const;

 private:
  const absl::Duration ack_deadline_;
  mutable absl::Mutex mutex_;
  WindowPageEvents* device_ ABSL_GUARDED_BY(mutex_) = nullptr;
  PrepareCallback prepare_ ABSL_GUARDED_BY(mutex_);
  // Pages whose revocation waits for REVOKE_ACK.
  absl::flat_hash_set<uint64_t> waiting_ ABSL_GUARDED_BY(mutex_);
  Counts counts_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_PCIMEM_FAULT_BRIDGE_H_
