// Test helper: a broker client over a real gRPC channel, with a Faults
// stream whose answers are collected by a reader thread and awaited with
// deadlines. For tests only.
#ifndef FAULTLINE_BROKER_TEST_CLIENT_H_
#define FAULTLINE_BROKER_TEST_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.grpc.pb.h"

namespace faultline::broker::testing {

inline constexpr absl::Duration kRpcDeadline = absl::Seconds(30);

std::shared_ptr<grpc::Channel> ConnectUnix(const std::string& socket_path);
void SetDeadline(grpc::ClientContext* context,
                 absl::Duration timeout = kRpcDeadline);

// A region of `pages` pages at `base` with the given source.
v1::Region PatternRegion(uint32_t id, uint64_t base, uint64_t pages,
                         uint64_t seed);
v1::Region DeviceRegion(uint32_t id, uint64_t base, uint64_t pages,
                        const std::string& pool, uint64_t frames,
                        v1::FramePolicy policy, v1::Sharing sharing);

class FaultStreamClient {
 public:
  // Opens a Faults stream for the session (with its fault ring when
  // `ring_generation` is not 0).
  static absl::StatusOr<std::unique_ptr<FaultStreamClient>> Open(
      std::shared_ptr<grpc::Channel> channel, const std::string& session_id,
      const std::string& token, uint64_t ring_generation = 0);
  ~FaultStreamClient();

  bool Send(const v1::FaultStreamRequest& request);
  bool SendFault(uint64_t fault_id, uint32_t region_id, uint64_t offset,
                 uint32_t prefetch_hint = 0);
  // Waits for the answer to `fault_id`.
  std::optional<v1::FaultAnswer> WaitAnswer(uint64_t fault_id,
                                            absl::Duration timeout);
  std::optional<v1::FrameRevocation> WaitRevocation(absl::Duration timeout);
  // The fault ids of every answer received so far, in arrival order (an
  // id answered twice is there twice).
  std::vector<uint64_t> AnswerOrder() ABSL_LOCKS_EXCLUDED(mu_);
  // True once the broker ended the stream (within `timeout`); Finish()
  // then returns how.
  bool WaitEnded(absl::Duration timeout);
  // Half-closes and returns the stream's final status.
  grpc::Status Finish();

 private:
  FaultStreamClient() = default;
  void ReadLoop();

  grpc::ClientContext context_;
  std::unique_ptr<v1::FaultBroker::Stub> stub_;
  std::unique_ptr<
      grpc::ClientReaderWriter<v1::FaultStreamRequest, v1::FaultStreamResponse>>
      stream_;
  absl::Mutex write_mu_;
  std::thread reader_;
  absl::Mutex mu_;
  std::map<uint64_t, v1::FaultAnswer> answers_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> answer_order_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::FrameRevocation> revocations_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ = false;
};

}  // namespace faultline::broker::testing

#endif  // FAULTLINE_BROKER_TEST_CLIENT_H_
