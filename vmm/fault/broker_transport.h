// The protocol-v1 client of one VM: Attach, then one Faults stream with many
// faults in flight. A broken stream is re-opened with backoff; when the broker
// no longer knows the session (it restarted) the VM attaches again. The
// engine above resends its faults in flight whenever a stream opens.
//
// Staging: on a Unix socket the transport asks for a staging area, maps the
// granted file read-only and hands it to the Listener with each attach. Every
// slot an answer names is released once OnAnswer has returned: piggy-backed
// on the next message written, or in a release-only message when many pile
// up or FlushReleases() finds some waiting. Releases only ever go out on the
// stream whose answers named the slots; a new stream forgets the old ones
// (the broker frees them when the stream opens).
//
// Threading: Connect() blocks until the first attach. After it, one stream
// thread owned by the transport reads answers and calls the Listener (never
// two Listener calls at once). Send() and FlushReleases() may be called from
// any thread.
#ifndef FAULTLINE_VMM_FAULT_BROKER_TRANSPORT_H_
#define FAULTLINE_VMM_FAULT_BROKER_TRANSPORT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.grpc.pb.h"
#include "vmm/fault/staging_mapping.h"

namespace faultline::vmm {

class BrokerTransport {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // An attach succeeded (first or again): grants may have changed.
    // `staging` is the new session's staging area, or null without one;
    // slot answers from now on name its slots.
    virtual void OnAttached(const v1::AttachResponse& response,
                            std::shared_ptr<const StagingMapping> staging) = 0;
    // Stream `generation` is open: faults in flight must be sent on it.
    virtual void OnStreamOpen(uint64_t generation) = 0;
    // The answer's staging slots are released when this returns: copy
    // their pages before.
    virtual void OnAnswer(const v1::FaultAnswer& answer) = 0;
    virtual void OnRevocation(const v1::FrameRevocation& revocation) = 0;
    // The stream broke; a new one is being set up.
    virtual void OnDisconnected(const absl::Status& why) = 0;
  };

  enum class Staging {
    kAuto,  // ask for a staging area when the target is a Unix socket
    kOff,   // page bytes always inline
  };

  struct Options {
    std::string target;  // "unix:PATH" or "HOST:PORT"
    std::string vm_name;
    std::string vm_token;
    std::vector<v1::Region> regions;
    uint32_t vcpu_count = 1;
    absl::Duration attach_deadline = absl::Seconds(30);
    absl::Duration initial_backoff = absl::Milliseconds(50);
    absl::Duration max_backoff = absl::Seconds(1);
    Staging staging = Staging::kAuto;
  };

  // Attaches (retrying an unreachable broker until attach_deadline; a broker
  // refusal fails at once) and starts the stream thread. `listener` must
  // outlive the transport.
  static absl::StatusOr<std::unique_ptr<BrokerTransport>> Connect(
      Options options, Listener* listener);
  ~BrokerTransport();

  BrokerTransport(const BrokerTransport&) = delete;
  BrokerTransport& operator=(const BrokerTransport&) = delete;

  // Writes on the open stream; returns its generation, or 0 when no stream
  // is open (the caller keeps the fault and resends it from OnStreamOpen).
  // Slots waiting to be released go with it.
  uint64_t Send(const v1::FaultStreamRequest& request);

  // Sends waiting slot releases on their own, if there are any.
  void FlushReleases();
  bool has_pending_releases() const ABSL_LOCKS_EXCLUDED(mutex_);

  // Ends the stream thread and detaches. Idempotent.
  void Shutdown();

 private:
  BrokerTransport(Options options, Listener* listener,
                  std::shared_ptr<grpc::Channel> channel);

  struct Attached {
    v1::AttachResponse response;
    std::shared_ptr<const StagingMapping> staging;
  };
  absl::StatusOr<Attached> AttachOnce(absl::Duration timeout);
  void DetachBestEffort(const std::string& session_id,
                        const std::string& token);
  uint64_t SendLocked(const v1::FaultStreamRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mutex_);
  // Queues the in-range staging slots `answer` names for release.
  void CollectReleases(const v1::FaultAnswer& answer)
      ABSL_LOCKS_EXCLUDED(mutex_);
  absl::Status AttachUntil(absl::Time deadline);
  void StreamLoop();
  // Runs one stream until it ends; returns how it ended (never OK) and
  // whether any answer arrived on it.
  absl::Status RunStream(bool* answered);
  bool SleepUnlessShutdown(absl::Duration delay);

  const Options options_;
  Listener* const listener_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::FaultBroker::Stub> stub_;
  std::thread stream_thread_;

  using Stream =
      grpc::ClientReaderWriter<v1::FaultStreamRequest, v1::FaultStreamResponse>;

  // Held across a Write so that writes never interleave and the stream
  // thread can wait out a writer before finishing the stream.
  absl::Mutex write_mutex_ ABSL_ACQUIRED_BEFORE(mutex_);
  mutable absl::Mutex mutex_;
  bool shutdown_ ABSL_GUARDED_BY(mutex_) = false;
  bool session_valid_ ABSL_GUARDED_BY(mutex_) = false;
  std::string session_id_ ABSL_GUARDED_BY(mutex_);
  std::string session_token_ ABSL_GUARDED_BY(mutex_);
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mutex_) = nullptr;
  Stream* stream_ ABSL_GUARDED_BY(mutex_) = nullptr;
  uint64_t generation_ ABSL_GUARDED_BY(mutex_) = 0;
  // Slots of the current session's area; 0 without one.
  uint32_t staging_slot_count_ ABSL_GUARDED_BY(mutex_) = 0;
  // Slots named by answers on stream generation_, not yet released.
  std::vector<uint32_t> pending_releases_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_BROKER_TRANSPORT_H_
