// A raw protocol-v1 client for the broker benchmark: attaches one session
// with a pattern region, opens its Faults stream and keeps `in_flight`
// faults outstanding for `duration`, each answered fault replaced by the
// next page's. Retry answers are asked again at once (a storm when the
// session's faults are injected to answer retry). Latency is measured from
// writing a fault to reading its page answer.
//
// Threading: Run() blocks its calling thread; one StreamLoad per thread.
#ifndef FAULTLINE_INTEGRATION_BENCH_STREAM_LOAD_H_
#define FAULTLINE_INTEGRATION_BENCH_STREAM_LOAD_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "integration/bench/latency_summary.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::bench {

struct StreamLoadOptions {
  std::string target;
  std::string vm_name;
  uint64_t region_pages = 16384;
  uint32_t in_flight = 32;
  absl::Duration duration = absl::Seconds(5);
  // Runs after attaching, before the first fault (e.g. to inject retries).
  std::function<absl::Status(const v1::AttachResponse&)> after_attach;
  // When set, the load ends as soon as this becomes true (or at duration).
  const std::atomic<bool>* stop = nullptr;
};

// The broker's own counters of a session (its GetStats), as of the end of
// its load: where its time went on the broker's side and how often its
// reads were paused.
struct BrokerCounters {
  double p99_us = 0;  // received to answer handed to gRPC
  uint64_t reads_paused = 0;
  uint64_t reasks_throttled = 0;
};

struct StreamLoadResult {
  uint64_t pages = 0;    // page answers
  uint64_t retries = 0;  // retry answers (each asked again)
  uint64_t other = 0;    // any other answer (counted, not asked again)
  double seconds = 0;
  LatencySummary latency;  // page answers only
  BrokerCounters broker;
};

absl::StatusOr<StreamLoadResult> RunStreamLoad(
    const StreamLoadOptions& options);

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_STREAM_LOAD_H_
