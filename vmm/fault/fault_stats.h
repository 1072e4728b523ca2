// Counters and a latency histogram of one VM's faults, retries by reason
// (the protocol's enum) and the pages poisoned for error answers. The exit
// report (vmm/exit_report.h) formats them.
//
// Threading: every method may be called from any thread concurrently.
#ifndef FAULTLINE_VMM_FAULT_FAULT_STATS_H_
#define FAULTLINE_VMM_FAULT_FAULT_STATS_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::vmm {

// Latency in microseconds, log-linear buckets: 8 sub-buckets per power of 2.
class LatencyHistogram {
 public:
  void Add(uint64_t micros);
  // The upper bound of the bucket holding the q-quantile (0 when empty).
  uint64_t Quantile(double q) const;
  uint64_t count() const { return count_; }

 private:
  static constexpr int kSubBuckets = 8;
  static constexpr int kBuckets = 64 * kSubBuckets;
  static int BucketOf(uint64_t micros);
  static uint64_t UpperBound(int bucket);

  std::array<uint64_t, kBuckets> buckets_ = {};
  uint64_t count_ = 0;
};

// A page poisoned because the broker answered error for it.
struct PoisonedPage {
  uint64_t guest_physical = 0;
  v1::ErrorKind kind = v1::ERROR_KIND_BUS_ERROR;
  std::string message;  // the broker's
};

struct FaultCountersSnapshot {
  uint64_t faults = 0;     // distinct faults asked (first attempts)
  uint64_t coalesced = 0;  // events for a page already in flight
  uint64_t pages = 0;      // answers applied, by kind
  uint64_t zeros = 0;
  uint64_t frames = 0;
  uint64_t retries = 0;
  uint64_t errors = 0;
  uint64_t poisoned = 0;          // error answers turned into poisoned pages
  uint64_t extra_pages = 0;       // prefetched pages installed
  uint64_t already_resolved = 0;  // EEXIST: someone got there first
  uint64_t rejected_answers = 0;  // failed validation, asked again
  uint64_t stale_answers = 0;     // answers for faults no longer in flight
  uint64_t resent = 0;            // faults sent again on a new stream
  uint64_t reconnects = 0;
  uint64_t revocations = 0;
  uint64_t loaded_pages = 0;  // installed by the loader, not faults
  uint64_t staged_pages = 0;  // copied from staging slots (page and extra)
  std::map<v1::RetryReason, uint64_t> retries_by_reason;
  // The first kMaxPoisonedPages of them (`poisoned` counts them all).
  std::vector<PoisonedPage> poisoned_pages;
  uint64_t latency_p50_us = 0;
  uint64_t latency_p99_us = 0;
  uint64_t latency_p999_us = 0;
  double elapsed_seconds = 0;
  double pages_per_second = 0;  // resolved pages (incl. extras) per second
};

class FaultStats {
 public:
  FaultStats() : started_(absl::Now()) {}

  enum class Counter {
    kFaults,
    kCoalesced,
    kPages,
    kZeros,
    kFrames,
    kErrors,
    kExtraPages,
    kAlreadyResolved,
    kRejectedAnswers,
    kStaleAnswers,
    kResent,
    kReconnects,
    kRevocations,
    kLoadedPages,
    kStagedPages,  // pages (asked or prefetched) copied from a staging slot
    kPoisoned,     // error answers applied as UFFDIO_POISON
  };
  void Count(Counter counter, uint64_t n = 1);
  // One retry answer asked again, by its (known) reason.
  void CountRetry(v1::RetryReason reason);
  void RecordLatency(absl::Duration latency);
  static constexpr size_t kMaxPoisonedPages = 64;
  void RecordPoisonedPage(PoisonedPage page);

  FaultCountersSnapshot Snapshot() const;

 private:
  const absl::Time started_;
  mutable absl::Mutex mutex_;
  FaultCountersSnapshot counters_ ABSL_GUARDED_BY(mutex_);
  LatencyHistogram latency_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_FAULT_STATS_H_
