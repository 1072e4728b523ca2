// One session of a VM at the broker (protocol v1): Attach, retried until a
// deadline, Detach, the unary ResolveFault and the opening of a Faults
// stream, each carrying the session token. The one place in the VMM that
// speaks the session's calls; BrokerTransport (the stream) and ram_preload
// (unary) are built on it.
//
// Failures come back typed (vmm/stop): an attach that found no broker by its
// deadline is kBrokerUnreachable, a broker refusal (bad regions, name in
// use, token) kBrokerRefused, and a unary call to a broker that went away
// kBrokerUnreachable.
//
// Threading: one thread at a time (the caller serialises; the transport uses
// it from Connect()'s thread, then from its stream thread only).
#ifndef FAULTLINE_VMM_TRANSPORT_BROKER_SESSION_H_
#define FAULTLINE_VMM_TRANSPORT_BROKER_SESSION_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.grpc.pb.h"

namespace faultline::vmm {

class BrokerSession {
 public:
  struct Options {
    std::string target;  // "unix:PATH" or "HOST:PORT"
    std::string vm_name;
    std::string vm_token;
    std::vector<v1::Region> regions;
    uint32_t vcpu_count = 1;
    bool want_staging = false;
    bool want_fault_ring = false;  // with want_staging
    absl::Duration initial_backoff = absl::Milliseconds(50);
    absl::Duration max_backoff = absl::Seconds(1);
  };

  // Whether an attach's grants can be used. An error refuses them: that
  // session is detached and the attach fails with the error.
  using AcceptGrants = std::function<absl::Status(const v1::AttachResponse&)>;
  // Waits `delay`; false when the owner is shutting down (stop retrying).
  using Sleep = std::function<bool(absl::Duration delay)>;

  using Stream =
      grpc::ClientReaderWriter<v1::FaultStreamRequest, v1::FaultStreamResponse>;

  explicit BrokerSession(Options options);

  BrokerSession(const BrokerSession&) = delete;
  BrokerSession& operator=(const BrokerSession&) = delete;

  // Attaches, asking again with backoff while the broker is unreachable or
  // busy until `deadline`; a refusal fails at once. `accept` checks what an
  // attach granted: its error detaches and is returned, except Unavailable
  // (the session died meanwhile), which attaches again.
  absl::Status AttachUntil(absl::Time deadline, const AcceptGrants& accept,
                           const Sleep& sleep);
  bool attached() const { return attached_; }
  // The broker no longer knows the session: the next attach makes another.
  void Forget() { attached_ = false; }
  // Ends the session (if attached); the outcome, within `timeout`.
  absl::Status Detach(absl::Duration timeout);

  // Opens a Faults stream on `context` and names the session on it (and
  // the fault ring generation, when not 0); `opened` is false when that
  // first message could not be written (the stream broke at once: its
  // Finish() says why).
  std::unique_ptr<Stream> OpenStream(grpc::ClientContext* context, bool* opened,
                                     uint64_t ring_generation = 0);

  // One unary ResolveFault (answers carry bytes, never staging slots).
  absl::StatusOr<v1::FaultAnswer> Resolve(const v1::FaultRequest& fault,
                                          absl::Time deadline);

  // Waits up to `timeout` for the channel to the broker to connect, and
  // drives the connection meanwhile: a connecting channel is polled only by
  // calls waiting on it (or gRPC's 5 s backup poller), so without a waiter
  // the broker's handshake answer sat unread for seconds. True once
  // connected; `already` says whether it was connected on the call.
  bool AwaitConnected(absl::Duration timeout, bool* already);

  // Codes by which a broker says it does not know the session any more.
  static bool SessionGone(absl::StatusCode code);

 private:
  absl::StatusOr<v1::AttachResponse> AttachOnce(absl::Duration timeout);

  const Options options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::FaultBroker::Stub> stub_;
  bool attached_ = false;
  std::string session_id_;
  std::string session_token_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_TRANSPORT_BROKER_SESSION_H_
