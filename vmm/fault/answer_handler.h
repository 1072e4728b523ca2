// The answering half of the fault engine (crosvm's page handler, where
// fault_engine is the controller): what each message of the broker does to
// the VM's pending faults. An answer is checked (fault_policy's
// ValidateAnswer, which asks the staging slots about slot numbers), then
// installed (answer_installer), asked again later (a retry, or a rejected
// answer), poisoned or stopped on (an error), or dropped as stale. A
// revocation puts a placeholder over a device page and is acknowledged.
// Every staging slot an answer names is released once the answer has been
// handled. A device model may hear what became of each device-window page
// (DevicePageEvent).
//
// Threading: the Listener calls arrive on the transport's stream thread or
// its fault ring thread, one at a time; poisons_error_pages() may be called
// from any thread. The callbacks in Options run on those threads and must
// not call back in.
#ifndef FAULTLINE_VMM_FAULT_ANSWER_HANDLER_H_
#define FAULTLINE_VMM_FAULT_ANSWER_HANDLER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.pb.h"
#include "vmm/fault/answer_installer.h"
#include "vmm/fault/fault_stats.h"
#include "vmm/fault/fault_table.h"
#include "vmm/fault/stop_latch.h"
#include "vmm/transport/broker_transport.h"
#include "vmm/transport/staging_slots.h"
#include "vmm/transport/stream_writer.h"

namespace faultline::vmm {

// What became of a device-window page, for a device model that tells the
// guest (vmm/devices/window_pages.h's WindowPageEvents is the first user).
struct DevicePageEvent {
  enum class Kind {
    kAvailable,  // a frame was mapped at the page
    kPending,    // the broker answered retry: no frame yet, asking again
    kError,      // the broker answered error (the page poisoned, or the VM
                 // stopping)
    kRevoked,    // its frame was revoked: the page is unmapped
    kGaveUp,     // a page asked with no vCPU waiting (PREPARE) ran out of
                 // its fault deadline or retry budget; the VM goes on
  };
  uint32_t region_id = 0;
  uint64_t offset = 0;
  Kind kind = Kind::kAvailable;
  uint64_t frame = 0;                                           // kAvailable
  v1::RetryReason retry_reason = v1::RETRY_REASON_UNSPECIFIED;  // kPending
  v1::ErrorKind error_kind = v1::ERROR_KIND_UNSPECIFIED;        // kError
};

class AnswerHandler : public BrokerTransport::Listener {
 public:
  struct Options {
    // An error answer poisons the page (where the kernel can) instead of
    // stopping the VM.
    bool poison_error_pages = false;
    // Optional: told of device page availability.
    std::function<void(const DevicePageEvent&)> on_device_page;
    // Stream `generation` is open: the asking side resends what it has not
    // seen.
    std::function<void(uint64_t generation)> on_stream_open;
    // A retry was planned: the asking side wakes up to send it in time.
    std::function<void()> on_retry_planned;
    // Optional: answers to background fill asks (BackgroundFill::IsFillId)
    // go here instead of to the table.
    std::function<void(const v1::FaultAnswer&)> on_fill_answer;
    // Optional: a page or zero answer for `fault` was installed, with the
    // host pages of the prefetched pages it installed.
    std::function<void(const PendingFault& fault,
                       const std::vector<uint64_t>& prefetched)>
        on_pages_installed;
    // Optional: called before a revoked frame is unmapped, so the device
    // model can make the guest let go of it first; may block, bounded.
    std::function<void(uint32_t region_id, uint64_t offset)> before_revocation;
  };

  // Everything must outlive the handler.
  AnswerHandler(Options options, FaultTable* table, AnswerInstaller* installer,
                StagingSlots* slots, StreamWriter* writer, FaultStats* stats,
                StopLatch* stop)
      : options_(std::move(options)),
        table_(table),
        installer_(installer),
        slots_(slots),
        writer_(writer),
        stats_(stats),
        stop_(stop) {}

  AnswerHandler(const AnswerHandler&) = delete;
  AnswerHandler& operator=(const AnswerHandler&) = delete;

  // BrokerTransport::Listener.
  absl::Status OnAttached(const v1::AttachResponse& response) override;
  void OnStreamOpen(uint64_t generation) override;
  void OnAnswer(const v1::FaultAnswer& answer) override;
  void OnRevocation(const v1::FrameRevocation& revocation) override;

  // Whether error answers become poisoned pages (options and kernel allow).
  bool poisons_error_pages() const {
    return options_.poison_error_pages && installer_->can_poison();
  }

 private:
  void Apply(const v1::FaultAnswer& answer, const PendingFault& fault);
  void ApplyError(const v1::FaultAnswer& answer, const PendingFault& fault);
  // Plans the next ask; false when the fault gave up (the VM stops) or left.
  bool Retry(const PendingFault& fault, absl::Duration hint,
             const std::string& reason);
  void Resolve(uint64_t fault_id);
  void Tell(const DevicePageEvent& event);
  void CountReconnect();

  // A stream after the first opened and has carried nothing yet: the first
  // message on it counts one reconnection. A stream the broker refuses at
  // once (the old session gone after a restart) carries nothing, so one
  // broker restart counts once however many streams it takes.
  bool reconnect_unproven_ = false;

  const Options options_;
  FaultTable* const table_;
  AnswerInstaller* const installer_;
  StagingSlots* const slots_;
  StreamWriter* const writer_;
  FaultStats* const stats_;
  StopLatch* const stop_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_ANSWER_HANDLER_H_
