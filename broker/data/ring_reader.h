// The reading side of a Faults stream's fault ring: a thread that takes the
// VMM's request records for one stream (StreamOpen.fault_ring_generation)
// from the session's SessionRing and hands each to the stream exactly as a
// stream message would be handed: released slots first, then the fault
// (which the stream gives to the same FaultProcessor). Records of older
// streams are dropped (their VMM resends the faults on its newest stream);
// a record of a newer stream is kept for that stream's reader. A defect in
// the ring reaches `broken` once, and the reader stops. Before each record
// the reader asks `may_take` (the session's read throttle, as the stream
// does): while the session is over its quota the ring is not read, so its
// requests wait in the ring and cost the broker nothing.
//
// Threading: the callbacks run on the reader's thread, one at a time.
// Stop() (or the destructor) from any other thread returns once the thread
// is gone. From a callback (the stream ended on the reader's own thread) it
// cannot wait for itself: it detaches, and the thread, which uses only state
// it shares (the ring included), ends at its next turn without another
// callback.
#ifndef FAULTLINE_BROKER_DATA_RING_READER_H_
#define FAULTLINE_BROKER_DATA_RING_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "broker/staging/session_ring.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

class RingReader {
 public:
  struct Callbacks {
    std::function<void(const std::vector<uint32_t>& slots)> release;
    std::function<void(const v1::FaultRequest& fault)> fault;
    std::function<void(const absl::Status& why)> broken;
    // True when the next record may be taken now; otherwise `resume` (kept
    // only then: the fast path copies nothing) runs once when it may be
    // again (FaultProcessor::MayTake).
    std::function<bool(const std::function<void()>& resume)> may_take;
  };

  // Starts reading `ring` for stream `generation`; the reader's thread keeps
  // `ring` alive until it ends.
  RingReader(std::shared_ptr<SessionRing> ring, uint64_t generation,
             Callbacks callbacks);
  ~RingReader() { Stop(); }

  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

  void Stop();

 private:
  // Everything the thread touches, shared with it (ring_reader.cc).
  struct State;

  const std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_DATA_RING_READER_H_
