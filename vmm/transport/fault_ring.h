// The VMM's side of a session's fault ring (protocol v1 FaultRing, the
// layout in proto/faultline/v1/fault_ring.h): the read-write mapping of the
// ring at the end of the staging file, the request producer (faults and
// slot releases as records) and the answer consumer. The broker's indices
// and records are checked like any answer (proto/base/shared_ring.h); a
// defect is an error and the ring is not used again.
//
// Threading: Send() by one thread at a time (the StreamWriter's write
// lock); TakeAnswer() and Wait() by the transport's ring thread only;
// Wake(), Break() and broken() from any thread.
#ifndef FAULTLINE_VMM_TRANSPORT_FAULT_RING_H_
#define FAULTLINE_VMM_TRANSPORT_FAULT_RING_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/base/shared_ring.h"
#include "proto/faultline/v1/broker.pb.h"
#include "proto/faultline/v1/fault_ring.h"

namespace faultline::vmm {

class FaultRing {
 public:
  // Maps the ring that `area` grants. FailedPrecondition naming the file
  // and the defect (no ring, another layout, a header that does not match
  // it, a file too short, or the errno of open or mmap).
  static absl::StatusOr<std::unique_ptr<FaultRing>> Map(
      const v1::StagingArea& area);
  ~FaultRing();

  FaultRing(const FaultRing&) = delete;
  FaultRing& operator=(const FaultRing&) = delete;

  // Puts `fault` (or none) and every slot of `released` into request
  // records of stream `generation`, all or nothing: false when they do not
  // fit now (the caller sends them on the stream); an error when the
  // broker's index is garbage.
  absl::StatusOr<bool> Send(uint64_t generation, const v1::FaultRequest* fault,
                            const std::vector<uint32_t>& released);

  // The next answer and the generation of its stream; nullopt when none;
  // an error naming the defect of a garbage index or record.
  absl::StatusOr<std::optional<v1::FaultAnswer>> TakeAnswer(
      uint64_t* generation);
  void Wait(absl::Duration spin, absl::Duration timeout) {
    answers_.Wait(spin, timeout);
  }
  void Wake() { answers_.Wake(); }

  // A defect seen by either user of the ring: it must not be used again.
  // The first reason is kept.
  void Break(const absl::Status& why) ABSL_LOCKS_EXCLUDED(mutex_);
  absl::Status broken() const ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  FaultRing(char* base, size_t bytes);

  char* const base_;
  const size_t bytes_;
  v1::ring::Header* const header_;
  RingProducer<v1::ring::RequestRecord> requests_;
  RingConsumer<v1::ring::AnswerRecord> answers_;
  mutable absl::Mutex mutex_;
  absl::Status broken_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_TRANSPORT_FAULT_RING_H_
