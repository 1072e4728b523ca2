#include "vmm/fault/fault_stats.h"

#include <cmath>
#include <utility>

namespace faultline::vmm {

int LatencyHistogram::BucketOf(uint64_t micros) {
  if (micros < kSubBuckets) return static_cast<int>(micros);
  const int top_bit = 63 - __builtin_clzll(micros);
  const int shift = top_bit - 3;  // keep three bits below the top bit
  const int sub = static_cast<int>((micros >> shift) & (kSubBuckets - 1));
  const int bucket = (shift + 1) * kSubBuckets + sub;
  return bucket < kBuckets ? bucket : kBuckets - 1;
}

uint64_t LatencyHistogram::UpperBound(int bucket) {
  if (bucket < kSubBuckets) return static_cast<uint64_t>(bucket);
  const int shift = bucket / kSubBuckets - 1;
  const uint64_t sub = static_cast<uint64_t>(bucket % kSubBuckets);
  if (shift >= 60) return UINT64_MAX;
  return (((kSubBuckets + sub + 1)) << shift) - 1;
}

void LatencyHistogram::Add(uint64_t micros) {
  ++buckets_[BucketOf(micros)];
  ++count_;
}

uint64_t LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<uint64_t>(std::ceil(q * count_));
  uint64_t seen = 0;
  for (int bucket = 0; bucket < kBuckets; ++bucket) {
    seen += buckets_[bucket];
    if (seen >= rank && buckets_[bucket] > 0) return UpperBound(bucket);
  }
  return UpperBound(kBuckets - 1);
}

void FaultStats::Count(Counter counter, uint64_t n) {
  absl::MutexLock lock(&mutex_);
  FaultCountersSnapshot& c = counters_;
  switch (counter) {
    case Counter::kFaults:
      c.faults += n;
      break;
    case Counter::kCoalesced:
      c.coalesced += n;
      break;
    case Counter::kPages:
      c.pages += n;
      break;
    case Counter::kZeros:
      c.zeros += n;
      break;
    case Counter::kFrames:
      c.frames += n;
      break;
    case Counter::kErrors:
      c.errors += n;
      break;
    case Counter::kExtraPages:
      c.extra_pages += n;
      break;
    case Counter::kAlreadyResolved:
      c.already_resolved += n;
      break;
    case Counter::kRejectedAnswers:
      c.rejected_answers += n;
      break;
    case Counter::kStaleAnswers:
      c.stale_answers += n;
      break;
    case Counter::kResent:
      c.resent += n;
      break;
    case Counter::kReconnects:
      c.reconnects += n;
      break;
    case Counter::kRevocations:
      c.revocations += n;
      break;
    case Counter::kLoadedPages:
      c.loaded_pages += n;
      break;
    case Counter::kStagedPages:
      c.staged_pages += n;
      break;
    case Counter::kPoisoned:
      c.poisoned += n;
      break;
  }
}

void FaultStats::CountRetry(v1::RetryReason reason) {
  absl::MutexLock lock(&mutex_);
  ++counters_.retries;
  ++counters_.retries_by_reason[reason];
}

void FaultStats::RecordPoisonedPage(PoisonedPage page) {
  absl::MutexLock lock(&mutex_);
  if (counters_.poisoned_pages.size() < kMaxPoisonedPages) {
    counters_.poisoned_pages.push_back(std::move(page));
  }
}

void FaultStats::RecordLatency(absl::Duration latency) {
  absl::MutexLock lock(&mutex_);
  latency_.Add(static_cast<uint64_t>(absl::ToInt64Microseconds(latency)));
}

FaultCountersSnapshot FaultStats::Snapshot() const {
  absl::MutexLock lock(&mutex_);
  FaultCountersSnapshot snapshot = counters_;
  snapshot.latency_p50_us = latency_.Quantile(0.5);
  snapshot.latency_p99_us = latency_.Quantile(0.99);
  snapshot.latency_p999_us = latency_.Quantile(0.999);
  snapshot.elapsed_seconds = absl::ToDoubleSeconds(absl::Now() - started_);
  const uint64_t resolved =
      snapshot.pages + snapshot.zeros + snapshot.frames + snapshot.extra_pages;
  snapshot.pages_per_second =
      snapshot.elapsed_seconds > 0 ? resolved / snapshot.elapsed_seconds : 0;
  return snapshot;
}

}  // namespace faultline::vmm
