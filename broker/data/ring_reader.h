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
// Stop() (or the destructor) from any other thread; it returns once the
// thread is gone.
#ifndef FAULTLINE_BROKER_DATA_RING_READER_H_
#define FAULTLINE_BROKER_DATA_RING_READER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/staging/session_ring.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

class RingReader {
 public:
  struct Callbacks {
    std::function<void(const std::vector<uint32_t>& slots)> release;
    std::function<void(const v1::FaultRequest& fault)> fault;
    std::function<void(const absl::Status& why)> broken;
    // True when the next record may be taken now; otherwise `resume` runs
    // once when it may be again (FaultProcessor::MayTake).
    std::function<bool(std::function<void()> resume)> may_take;
  };

  // Starts reading `ring` for stream `generation`; `ring` must outlive the
  // reader.
  RingReader(SessionRing& ring, uint64_t generation, Callbacks callbacks);
  ~RingReader() { Stop(); }

  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

  void Stop();

 private:
  void Loop();
  // Serves requests while it holds the ring's consumer.
  void Serve();
  // False when the session's throttle holds the ring; the reader then
  // sleeps until resumed (or stopped).
  bool MayTake();

  SessionRing& ring_;
  const uint64_t generation_;
  const Callbacks callbacks_;
  std::atomic<bool> stop_{false};
  // Set by the throttle's resume (which may outlive the reader) or Stop().
  struct Resumed {
    absl::Mutex mu;
    bool done ABSL_GUARDED_BY(mu) = false;
  };
  const std::shared_ptr<Resumed> resumed_ = std::make_shared<Resumed>();
  std::thread thread_;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_DATA_RING_READER_H_
