// Writes on the VM's current Faults stream, from any thread: one write at a
// time, and every message carries the staging slots waiting for release on
// that stream, taken from StagingSlots under the lock that names the stream,
// so a slot only ever goes back on the stream that carried it. The
// transport tells it when a stream opens and ends. A stream opened with a
// fault ring sends faults and releases as ring records while they fit the
// ring, and everything else (revocations, a full ring) as stream messages.
//
// Threading: Send() and FlushReleases() from any thread; Open() and Close()
// from the transport's stream thread. Close() waits out a write in progress.
#ifndef FAULTLINE_VMM_TRANSPORT_STREAM_WRITER_H_
#define FAULTLINE_VMM_TRANSPORT_STREAM_WRITER_H_

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "proto/faultline/v1/broker.pb.h"
#include "vmm/transport/broker_session.h"
#include "vmm/transport/fault_ring.h"
#include "vmm/transport/staging_slots.h"

namespace faultline::vmm {

class StreamWriter {
 public:
  // `slots` must outlive the writer.
  explicit StreamWriter(StagingSlots* slots) : slots_(slots) {}

  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  // Stream `generation` is open; writes go to it (and to `ring`, when not
  // null; it must stay mapped until Close()) until Close().
  void Open(BrokerSession::Stream* stream, uint64_t generation,
            FaultRing* ring = nullptr);
  // The stream ended: no more writes to it (a writer still on it finishes).
  void Close();

  // Writes `request` with the waiting releases; returns the stream's
  // generation, or 0 when no stream is open (or the write failed): the
  // caller keeps the fault and resends it when the next stream opens.
  uint64_t Send(const v1::FaultStreamRequest& request);
  // Sends the waiting releases on their own, if there are any. With `wait`
  // false it gives up when another write is in progress: the slots then go
  // with that writer's next message (for the stream thread, which must
  // never wait for a writer).
  void FlushReleases(bool wait = true);

  bool open() const;

 private:
  uint64_t SendLocked(const v1::FaultStreamRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mutex_);
  // True when `request` and `releases` went into the ring.
  bool SendOnRing(FaultRing* ring, uint64_t generation,
                  const v1::FaultStreamRequest& request,
                  const std::vector<uint32_t>& releases)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mutex_, mutex_);

  StagingSlots* const slots_;
  // Held across a Write so that writes never interleave and Close() can
  // wait out a writer.
  absl::Mutex write_mutex_ ABSL_ACQUIRED_BEFORE(mutex_);
  mutable absl::Mutex mutex_;
  BrokerSession::Stream* stream_ ABSL_GUARDED_BY(mutex_) = nullptr;
  uint64_t generation_ ABSL_GUARDED_BY(mutex_) = 0;
  FaultRing* ring_ ABSL_GUARDED_BY(mutex_) = nullptr;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_TRANSPORT_STREAM_WRITER_H_
