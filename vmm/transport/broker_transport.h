// The Faults stream of one VM (protocol v1): attaches through a
// BrokerSession, then keeps one stream open with many faults in flight. A
// broken stream is re-opened with backoff; when the broker no longer knows
// the session (it restarted) the VM attaches again. The engine above resends
// its faults in flight whenever a stream opens.
//
// Staging: on a Unix socket (Staging::kAuto) the transport asks for a
// staging area; the Listener maps it (StagingSlots) when it accepts each
// attach. Every message the transport writes carries the slots waiting for
// release on that stream, taken from StagingSlots under the lock that names
// the stream, so a slot only ever goes back on the stream that carried it.
//
// Threading: Connect() blocks until the first attach. After it, one stream
// thread owned by the transport reads answers and calls the Listener (never
// two Listener calls at once; OnAttached of a re-attach included). Send(),
// FlushReleases() and health() may be called from any thread.
#ifndef FAULTLINE_VMM_TRANSPORT_BROKER_TRANSPORT_H_
#define FAULTLINE_VMM_TRANSPORT_BROKER_TRANSPORT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.grpc.pb.h"
#include "vmm/transport/broker_session.h"
#include "vmm/transport/staging_slots.h"

namespace faultline::vmm {

class BrokerTransport {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // An attach succeeded (first or again): the new session's grants. An
    // error refuses them; the session is detached and the attach fails.
    virtual absl::Status OnAttached(const v1::AttachResponse& response) = 0;
    // Stream `generation` is open: faults in flight must be sent on it.
    virtual void OnStreamOpen(uint64_t generation) = 0;
    virtual void OnAnswer(const v1::FaultAnswer& answer) = 0;
    virtual void OnRevocation(const v1::FrameRevocation& revocation) = 0;
  };

  enum class Staging {
    kAuto,  // ask for a staging area when the target is a Unix socket
    kOff,   // page bytes always inline
  };

  struct Options {
    // want_staging is set from `staging` and the target.
    BrokerSession::Options session;
    absl::Duration attach_deadline = absl::Seconds(30);
    Staging staging = Staging::kAuto;
  };

  // The broker connection as the engine reports it when a fault times out.
  struct Health {
    bool connected = false;  // a stream is open
    std::string last_error;  // why the last stream ended
  };

  // Attaches (retrying an unreachable broker until attach_deadline; a broker
  // refusal fails at once; errors typed as BrokerSession's) and starts the
  // stream thread. `listener` and `slots` must outlive the transport.
  static absl::StatusOr<std::unique_ptr<BrokerTransport>> Connect(
      Options options, Listener* listener, StagingSlots* slots);
  ~BrokerTransport();

  BrokerTransport(const BrokerTransport&) = delete;
  BrokerTransport& operator=(const BrokerTransport&) = delete;

  // Writes on the open stream; returns its generation, or 0 when no stream
  // is open (the caller keeps the fault and resends it from OnStreamOpen).
  // Slots waiting to be released go with it.
  uint64_t Send(const v1::FaultStreamRequest& request);

  // Sends the slots waiting for release on their own, if there are any.
  // With `wait` false it gives up when another write is in progress: the
  // slots then go with that writer's next message (for the stream thread,
  // which must never wait for a writer).
  void FlushReleases(bool wait = true);

  Health health() const ABSL_LOCKS_EXCLUDED(mutex_);

  // Ends the stream thread and detaches. Idempotent.
  void Shutdown();

 private:
  using Stream = BrokerSession::Stream;

  BrokerTransport(Options options, Listener* listener, StagingSlots* slots);

  absl::Status AttachUntil(absl::Time deadline);
  uint64_t SendLocked(const v1::FaultStreamRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mutex_);
  void StreamLoop();
  // Runs one stream until it ends; returns how it ended (never OK), whether
  // it opened and whether any answer arrived on it.
  absl::Status RunStream(bool* opened, bool* answered);
  bool SleepUnlessShutdown(absl::Duration delay);

  const Options options_;
  Listener* const listener_;
  StagingSlots* const slots_;
  // Used by Connect()'s thread, then by the stream thread only, then by
  // Shutdown() after the stream thread ended.
  BrokerSession session_;
  std::thread stream_thread_;

  // Held across a Write so that writes never interleave and the stream
  // thread can wait out a writer before finishing the stream.
  absl::Mutex write_mutex_ ABSL_ACQUIRED_BEFORE(mutex_);
  mutable absl::Mutex mutex_;
  bool shutdown_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mutex_) = nullptr;
  Stream* stream_ ABSL_GUARDED_BY(mutex_) = nullptr;
  uint64_t generation_ ABSL_GUARDED_BY(mutex_) = 0;
  std::string last_error_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_TRANSPORT_BROKER_TRANSPORT_H_
