// The VMM's side of the staging-slot protocol (protocol v1 StagingArea), in
// one place: the read-only mapping of the session's area, the check that
// every slot an answer names lies inside it, reading a slot's page, and the
// slots waiting to be handed back.
//
// The broker writes a page into a slot and answers with the slot's number;
// the VMM copies the page into the guest straight from the slot, then hands
// the slot back on the stream that carried it. The life of the slots:
//   UseArea()       each attach: the new session's area replaces the old
//                   one, whose slots are forgotten;
//   StreamOpened()  each new stream: the broker freed the old stream's slots;
//   Release()       after an answer was handled (installed, rejected, stale
//                   or retried): its slots wait to go back;
//   TakeReleases()  the transport, when it writes on a stream, moves the
//                   slots waiting for that stream into the message.
//
// Threading: every method may be called from any thread. UseArea() and
// StreamOpened() must not run while an answer is being handled (the
// transport delivers attaches, stream openings and answers on one thread),
// so a page from Page() stays mapped until its answer has been handled.
#ifndef FAULTLINE_VMM_TRANSPORT_STAGING_SLOTS_H_
#define FAULTLINE_VMM_TRANSPORT_STAGING_SLOTS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::vmm {

class StagingSlots {
 public:
  // Releases waiting past this many go out at once, in their own message.
  static constexpr size_t kReleaseBatch = 64;

  StagingSlots();  // no area: every slot is refused
  ~StagingSlots();

  StagingSlots(const StagingSlots&) = delete;
  StagingSlots& operator=(const StagingSlots&) = delete;

  // A new session: maps `area` read-only, or has no area when it is null.
  // The old area and every slot waiting for release are forgotten.
  // FailedPrecondition naming the file and the defect when it cannot be
  // mapped (a slot size other than one page, no slots, a file shorter than
  // its slots, or the errno of open or mmap); Unavailable when the file is
  // gone (its broker died after the attach and a new one swept it). Either
  // way there is then no area.
  absl::Status UseArea(const v1::StagingArea* area);
  // A new stream, `generation`, is open: slots of older streams are the
  // broker's again and are never released.
  void StreamOpened(uint64_t generation);

  // OK when every staging slot `answer` names (its page and extra pages)
  // lies in the area; InvalidArgument naming the slot otherwise.
  absl::Status CheckAnswer(const v1::FaultAnswer& answer) const;
  // The page in `slot` (checked by CheckAnswer before).
  absl::StatusOr<const uint8_t*> Page(uint32_t slot) const;

  // Queues the slots `answer` names that lie in the area (a slot outside
  // was rejected with its answer, and the broker would refuse it too).
  // True when kReleaseBatch or more wait: time to send them alone.
  bool Release(const v1::FaultAnswer& answer);
  // Takes the slots waiting for release on stream `generation`; none when
  // `generation` is not the current stream.
  std::vector<uint32_t> TakeReleases(uint64_t generation);
  bool has_pending_releases() const;

  uint32_t slot_count() const;

 private:
  class Area;

  mutable absl::Mutex mutex_;
  std::unique_ptr<const Area> area_ ABSL_GUARDED_BY(mutex_);
  uint64_t generation_ ABSL_GUARDED_BY(mutex_) = 0;
  // Slots named by answers on stream generation_, not yet released.
  std::vector<uint32_t> pending_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_TRANSPORT_STAGING_SLOTS_H_
