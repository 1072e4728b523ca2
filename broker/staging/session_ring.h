// The broker's side of a session's fault ring (protocol v1 FaultRing, the
// layout in proto/faultline/v1/fault_ring.h): takes request records from
// the VMM and turns each into what a stream message would have carried,
// checked; and puts answers whose pages are all staged or zero into the
// answer ring. The VMM may write the ring at any time: every index is
// checked (proto/base/shared_ring.h), every record is copied before it is
// read, and a defect breaks the ring for good (the session's later streams
// may not use it).
//
// One stream at a time consumes requests: a stream's reader holds the
// consumer (TryAcquire .. Relinquish) and hands over to a newer stream
// (Want). A record of a newer stream met by an older one's reader is kept
// (Hold) for the newer one.
//
// Threading: the consumer calls (TakeRequest, Hold, Wait) by the holder of
// the consumer only; PushAnswer from any thread; the rest from any thread.
#ifndef FAULTLINE_BROKER_STAGING_SESSION_RING_H_
#define FAULTLINE_BROKER_STAGING_SESSION_RING_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/base/shared_ring.h"
#include "proto/faultline/v1/broker.pb.h"
#include "proto/faultline/v1/fault_ring.h"
#include "proto/faultline/v1/fault_ring_codec.h"

namespace faultline::broker {

using v1::ring::RingRequest;

class SessionRing {
 public:
  // `memory` is the ring's kRingBytes in the staging file (header set).
  explicit SessionRing(char* memory);

  SessionRing(const SessionRing&) = delete;
  SessionRing& operator=(const SessionRing&) = delete;

  // A stream of `generation` wants to consume; older holders hand over.
  void Want(uint64_t generation) ABSL_LOCKS_EXCLUDED(mu_);
  // True when the consumer was free and is now held by `generation`.
  bool TryAcquire(uint64_t generation) ABSL_LOCKS_EXCLUDED(mu_);
  void Relinquish(uint64_t generation) ABSL_LOCKS_EXCLUDED(mu_);
  // Whether a stream newer than `generation` wants the consumer.
  bool Superseded(uint64_t generation) const ABSL_LOCKS_EXCLUDED(mu_);

  // The next request (a held one first): nullopt when none; an error naming
  // the defect when an index or a record is garbage (the ring is then
  // broken).
  absl::StatusOr<std::optional<RingRequest>> TakeRequest();
  // Keeps `request` for the next TakeRequest.
  void Hold(RingRequest request);
  // Before the ring is shared: how long Wait spins before it sleeps.
  void set_spin(absl::Duration spin) { spin_ = spin; }
  // Waits for the VMM's next request (see RingConsumer::Wait).
  void Wait(absl::Duration timeout);
  void Wake();

  // Puts `answer` of stream `generation` into the answer ring; false (and
  // nothing written) when it does not fit a record (an inline page, a text
  // longer than kTextBytes, extra pages not in a row), the ring is full or
  // broken: the caller then sends it on the stream.
  bool PushAnswer(const v1::FaultAnswer& answer, uint64_t generation)
      ABSL_LOCKS_EXCLUDED(produce_mu_);

  // OK, or why the ring broke.
  absl::Status broken() const ABSL_LOCKS_EXCLUDED(mu_);
  void Break(const absl::Status& why) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  v1::ring::Header* const header_;
  RingConsumer<v1::ring::RequestRecord> requests_;
  std::optional<RingRequest> held_;  // the consumer's
  absl::Duration spin_;

  absl::Mutex produce_mu_;
  RingProducer<v1::ring::AnswerRecord> answers_ ABSL_GUARDED_BY(produce_mu_);

  mutable absl::Mutex mu_;
  uint64_t wanted_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t holder_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status broken_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_STAGING_SESSION_RING_H_
