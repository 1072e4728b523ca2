// The connection of one VM to the broker (protocol v1): attaches through a
// BrokerSession, then keeps one Faults stream open, reads what the broker
// sends on it and hands each message to the Listener. A broken stream is
// re-opened with backoff; when the broker no longer knows the session (it
// restarted) the VM attaches again. Writing is the StreamWriter's job: the
// transport only tells it which stream is open. The engine above resends
// its faults in flight whenever a stream opens.
//
// Staging: on a Unix socket (Staging::kAuto) the transport asks for a
// staging area; the Listener maps it (StagingSlots) when it accepts each
// attach. With Options.fault_ring it also asks for the fault ring in it and
// maps it (fault_ring.h): each stream then opens with the ring, and a ring
// thread reads the ring's answers of that stream while the stream lasts. A
// ring that fails (a defect, or a broker that refuses it) ends the stream,
// and the next ones go without it.
//
// Threading: Connect() blocks until the first attach. After it, one stream
// thread owned by the transport reads and calls the Listener, and a ring
// thread per ring stream calls OnAnswer; never two Listener calls at once
// (OnAttached of a re-attach included). health() may be called from any
// thread.
#ifndef FAULTLINE_VMM_TRANSPORT_BROKER_TRANSPORT_H_
#define FAULTLINE_VMM_TRANSPORT_BROKER_TRANSPORT_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
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
#include "vmm/transport/fault_ring.h"
#include "vmm/transport/stream_writer.h"

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
    // Faults and answers through the staging file's fault ring where the
    // broker grants one (with staging only).
    bool fault_ring = false;
    // How long the ring thread spins for an answer before it sleeps; only
    // worth it with idle cores (BENCHMARKS.md).
    absl::Duration fault_ring_spin = absl::ZeroDuration();
  };

  // The broker connection as the engine reports it when a fault times out.
  struct Health {
    bool connected = false;  // a stream is open
    std::string last_error;  // why the last stream ended
  };

  // Attaches (retrying an unreachable broker until attach_deadline; a broker
  // refusal fails at once; errors typed as BrokerSession's) and starts the
  // stream thread. `listener` and `writer` must outlive the transport.
  static absl::StatusOr<std::unique_ptr<BrokerTransport>> Connect(
      Options options, Listener* listener, StreamWriter* writer);
  ~BrokerTransport();

  BrokerTransport(const BrokerTransport&) = delete;
  BrokerTransport& operator=(const BrokerTransport&) = delete;

  Health health() const ABSL_LOCKS_EXCLUDED(mutex_);

  // Ends the stream thread and detaches. Idempotent.
  void Shutdown();

 private:
  using Stream = BrokerSession::Stream;

  BrokerTransport(Options options, Listener* listener, StreamWriter* writer);

  absl::Status AttachUntil(absl::Time deadline);
  void StreamLoop();
  // Runs one stream until it ends; returns how it ended (never OK), whether
  // it opened and whether any answer arrived on it.
  absl::Status RunStream(bool* opened, bool* answered);
  // On the ring thread: hands the answers of stream `generation` in `ring`
  // to the Listener until `stop`; a defect cancels `context`.
  void RingLoop(FaultRing* ring, uint64_t generation,
                const std::atomic<bool>* stop, grpc::ClientContext* context);
  // The new session's ring, mapped when asked for and granted.
  void UseRing(const v1::AttachResponse& response);
  bool SleepUnlessShutdown(absl::Duration delay);
  // Between streams: up to `delay` while the broker is unreachable (less
  // once it is back, BrokerSession::AwaitConnected), `delay` when it is
  // reachable; false when shutting down.
  bool WaitForBrokerUnlessShutdown(absl::Duration delay);

  const Options options_;
  Listener* const listener_;
  StreamWriter* const writer_;
  // Used by Connect()'s thread, then by the stream thread only, then by
  // Shutdown() after the stream thread ended.
  BrokerSession session_;
  // The session's fault ring; replaced on the stream thread between streams.
  std::unique_ptr<FaultRing> ring_;
  std::thread stream_thread_;
  // Held across every Listener call: the stream and ring threads take turns.
  absl::Mutex listener_mutex_;

  mutable absl::Mutex mutex_;
  bool shutdown_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mutex_) = nullptr;
  uint64_t generation_ ABSL_GUARDED_BY(mutex_) = 0;
  std::string last_error_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_TRANSPORT_BROKER_TRANSPORT_H_
