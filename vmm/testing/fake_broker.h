// Test support: a small FaultBroker service (protocol v1) that answers as
// the test scripts it, so VMM tests can play a hostile or broken broker:
// wrong sizes, unknown ids, answers sent twice, bad staging slots, frames
// outside the device, revocations, streams that break. It runs in the test
// process on a Unix socket in a fresh temporary folder, attaches any VM
// (with a staging area file and device files when asked), and records what
// the VMM sent: fault requests, released slots by stream, finished
// revocations, the session token on each call.
//
// Threading: gRPC's threads run the service; every other method may be
// called from any thread. A script runs on a gRPC thread and must not call
// back into the FakeBroker.
#ifndef FAULTLINE_VMM_TESTING_FAKE_BROKER_H_
#define FAULTLINE_VMM_TESTING_FAKE_BROKER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.grpc.pb.h"

namespace faultline::vmm {

class FakeBroker {
 public:
  // The messages to send for one fault request (stream or unary; a unary
  // call answers with the first answer, or UNAVAILABLE when there is none).
  // None: the fault waits.
  using Script = std::function<std::vector<v1::FaultStreamResponse>(
      const v1::FaultRequest&)>;

  struct Options {
    uint32_t staging_slots = 0;  // > 0: grant an area of that many slots
    uint64_t device_frames = 8;  // frames of each device region's file
    // Not OK: every Attach fails with it.
    absl::Status attach_error = absl::OkStatus();
  };

  // What the VMM sent on one stream.
  struct StreamLog {
    std::vector<v1::FaultRequest> faults;
    std::vector<uint32_t> released_slots;
    std::vector<uint64_t> revocations_done;
  };

  static absl::StatusOr<std::unique_ptr<FakeBroker>> Start(Options options);
  ~FakeBroker();

  FakeBroker(const FakeBroker&) = delete;
  FakeBroker& operator=(const FakeBroker&) = delete;

  std::string target() const { return "unix:" + directory_ + "/fake.sock"; }
  std::string session_token() const { return kToken; }

  void set_script(Script script) ABSL_LOCKS_EXCLUDED(mutex_);

  // Writes one page into staging slot `slot` (of the granted area).
  absl::Status StageSlot(uint32_t slot, const std::string& page);
  // Writes one page into frame `frame` of region `region_id`'s device file.
  absl::Status WriteFrame(uint32_t region_id, uint64_t frame,
                          const std::string& page);

  // Sends `message` on the open stream; false when no stream is open.
  bool Push(const v1::FaultStreamResponse& message);
  // Ends the open stream with UNAVAILABLE, as a broken connection would.
  void BreakStream();

  // Waits up to `timeout` until `done` holds for the streams seen so far
  // (one log per stream, oldest first); returns whether it did.
  bool WaitFor(const std::function<bool(const std::vector<StreamLog>&)>& done,
               absl::Duration timeout);
  std::vector<StreamLog> streams() const;
  int attaches() const;
  int detaches() const;
  // Calls after Attach that did not carry the session token.
  int calls_without_token() const;

 private:
  class Service;
  static constexpr char kToken[] = "fake-token";

  FakeBroker(Options options, std::string directory);
  std::string DevicePath(uint32_t region_id) const;

  const Options options_;
  const std::string directory_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;

  mutable absl::Mutex mutex_;
  Script script_ ABSL_GUARDED_BY(mutex_);
  std::vector<StreamLog> streams_ ABSL_GUARDED_BY(mutex_);
  int attaches_ ABSL_GUARDED_BY(mutex_) = 0;
  int detaches_ ABSL_GUARDED_BY(mutex_) = 0;
  int calls_without_token_ ABSL_GUARDED_BY(mutex_) = 0;
  // The open stream, for Push(), and whether the test asked to break it.
  grpc::ServerReaderWriter<v1::FaultStreamResponse, v1::FaultStreamRequest>*
      stream_ ABSL_GUARDED_BY(mutex_) = nullptr;
  grpc::ServerContext* stream_context_ ABSL_GUARDED_BY(mutex_) = nullptr;
  bool break_stream_ ABSL_GUARDED_BY(mutex_) = false;
  // Held across every Write on the stream.
  absl::Mutex write_mutex_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_TESTING_FAKE_BROKER_H_
