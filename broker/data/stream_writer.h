// The writing half of a Faults stream: a bounded queue of answers and
// revocations written one at a time, and the rules for when the stream may
// read on, must pause reading, or finishes. Shared with the workers that
// deliver answers, so it outlives the reactor; once Finish is called it
// never touches the reactor again.
//
// Threading: every decision to start a write, start a read or finish is made
// under the writer's lock and the operation is started outside it, with a
// count of starting operations that keeps Finish from overtaking one. The
// same count lets a thread outside gRPC's reactions (a throttle's resume)
// reach the reactor safely: RunUnlessEnding.
#ifndef FAULTLINE_BROKER_DATA_STREAM_WRITER_H_
#define FAULTLINE_BROKER_DATA_STREAM_WRITER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <deque>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "broker/session/session.h"
#include "proto/faultline/v1/broker.grpc.pb.h"

namespace faultline::broker {

using FaultStreamReactor =
    grpc::ServerBidiReactor<v1::FaultStreamRequest, v1::FaultStreamResponse>;

class StreamWriter : public FaultStreamSink {
 public:
  explicit StreamWriter(FaultStreamReactor* reactor) : reactor_(reactor) {}

  // Queues `response`; false once the stream is finishing or broken.
  bool Send(v1::FaultStreamResponse response) override ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the stream once queued messages are written.
  void Close(const absl::Status& status) override ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the stream now, dropping what is queued.
  void Fail(const absl::Status& status) override ABSL_LOCKS_EXCLUDED(mu_);

  // Faults in flight keep a half-closed stream open until answered.
  void FaultStarted() ABSL_LOCKS_EXCLUDED(mu_);
  void FaultAnswered() ABSL_LOCKS_EXCLUDED(mu_);
  // The client half-closed.
  void ReadsDone() ABSL_LOCKS_EXCLUDED(mu_);
  // True when reading was paused for a full queue and may resume now.
  bool WriteDone(bool ok) ABSL_LOCKS_EXCLUDED(mu_);

  // True when the caller may start the next read; it must then call
  // ReadStarted() once StartRead returned (or once it chose not to read).
  bool BeginRead() ABSL_LOCKS_EXCLUDED(mu_);
  void ReadStarted() ABSL_LOCKS_EXCLUDED(mu_);

  // Runs `fn` (which may touch the reactor) unless the stream is ending;
  // Finish, and so the reactor's end, waits until it returns.
  void RunUnlessEnding(const std::function<void()>& fn)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Starts the next write or the finish, if one is due.
  void Pump() ABSL_LOCKS_EXCLUDED(mu_);

  static constexpr size_t kMaxQueued = 8192;

  FaultStreamReactor* const reactor_;
  absl::Mutex mu_;
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<v1::FaultStreamResponse> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_started_ ABSL_GUARDED_BY(mu_) = false;
  int ops_starting_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t faults_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status final_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_DATA_STREAM_WRITER_H_
