// Fault statistics: counters by answer kind, retry reason and error kind,
// bytes served, and a latency histogram with percentiles.
//
// Thread-safe: every method may be called from any thread.
#ifndef FAULTLINE_BROKER_OBSERVE_STATS_H_
#define FAULTLINE_BROKER_OBSERVE_STATS_H_

#include <cstdint>
#include <map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

// Latency buckets from 1 us to about a minute, each about 25% wider than the
// one before, so that percentiles are good to about a quarter.
class LatencyHistogram {
 public:
  LatencyHistogram();

  void Record(uint64_t latency_us);
  // The upper bound of the bucket holding the q-quantile (0 < q <= 1), or 0
  // when nothing was recorded.
  uint64_t Percentile(double q) const;
  void ToProto(v1::LatencyHistogram* out) const;
  void Merge(const LatencyHistogram& other);
  uint64_t count() const { return count_; }

 private:
  static const std::vector<uint64_t>& UpperBounds();

  std::vector<uint64_t> counts_;  // One more than UpperBounds(): the open one.
  uint64_t count_ = 0;
};

// The outcome of one answered fault, as counted.
struct FaultOutcome {
  // One of the FaultAnswer oneof cases (page, zero, frame, retry, error).
  v1::FaultAnswer::AnswerCase answer = v1::FaultAnswer::ANSWER_NOT_SET;
  v1::RetryReason retry_reason = v1::RETRY_REASON_UNSPECIFIED;
  v1::ErrorKind error_kind = v1::ERROR_KIND_UNSPECIFIED;
  uint64_t bytes_served = 0;
  uint64_t extra_pages = 0;
  uint64_t latency_us = 0;
  // The request was refused as invalid (it is also counted as an error).
  bool invalid = false;
};

class FaultStats {
 public:
  void Record(const FaultOutcome& outcome) ABSL_LOCKS_EXCLUDED(mu_);
  // A transport left the session's next request unread: at its quota
  // (`reask` false) or over its re-ask rate (true).
  void RecordReadPause(bool reask) ABSL_LOCKS_EXCLUDED(mu_);
  void ToProto(v1::FaultCounters* out) const ABSL_LOCKS_EXCLUDED(mu_);
  // Adds `other`'s counts into this one (for totals of detached sessions).
  void Merge(const FaultStats& other) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  uint64_t faults_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t pages_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t zeros_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t frames_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t retries_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t bytes_served_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t extra_pages_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t invalid_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t reads_paused_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t reasks_throttled_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int, uint64_t> retries_by_reason_ ABSL_GUARDED_BY(mu_);
  std::map<int, uint64_t> errors_by_kind_ ABSL_GUARDED_BY(mu_);
  LatencyHistogram latency_ ABSL_GUARDED_BY(mu_);
};

// "page", "zero", "frame", "retry", "error" (or "none").
const char* AnswerKindName(v1::FaultAnswer::AnswerCase answer);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_OBSERVE_STATS_H_
