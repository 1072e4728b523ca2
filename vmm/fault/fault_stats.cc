#include "vmm/fault/fault_stats.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

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
    case Counter::kFillAsks:
      c.fill_asks += n;
      break;
    case Counter::kFillPages:
      c.fill_pages += n;
      break;
    case Counter::kFillZeroPages:
      c.fill_zero_pages += n;
      break;
    case Counter::kFillAlreadyPresent:
      c.fill_already_present += n;
      break;
    case Counter::kFillRetries:
      c.fill_retries += n;
      break;
    case Counter::kFillDropped:
      c.fill_dropped += n;
      break;
  }
}

void FaultStats::CountRetry(const std::string& reason) {
  absl::MutexLock lock(&mutex_);
  ++counters_.retries;
  ++counters_.retries_by_reason[reason];
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

std::string FaultStats::Summary(const FaultCountersSnapshot& s) {
  std::string reasons = absl::StrJoin(
      s.retries_by_reason, ", ",
      [](std::string* out, const std::pair<const std::string, uint64_t>& r) {
        absl::StrAppend(out, r.first, "=", r.second);
      });
  return absl::StrFormat(
             "vmm: faults %u (coalesced %u); answers: page %u, zero %u, frame "
             "%u, "
             "retry %u, error %u (poisoned %u); extra pages %u; loaded pages "
             "%u; from "
             "staging "
             "slots %u\n"
             "vmm: retries by reason: %s\n"
             "vmm: already resolved %u, rejected answers %u, stale answers %u, "
             "resent %u, reconnects %u, revocations %u\n"
             "vmm: latency p50 %uus p99 %uus p99.9 %uus; %.0f pages/s over "
             "%.2fs\n",
             s.faults, s.coalesced, s.pages, s.zeros, s.frames, s.retries,
             s.errors, s.poisoned, s.extra_pages, s.loaded_pages,
             s.staged_pages, reasons.empty() ? "none" : reasons,
             s.already_resolved, s.rejected_answers, s.stale_answers, s.resent,
             s.reconnects, s.revocations, s.latency_p50_us, s.latency_p99_us,
             s.latency_p999_us, s.pages_per_second, s.elapsed_seconds) +
         (s.fill_asks == 0
              ? std::string()
              : absl::StrFormat(
                    "vmm: background fill: %u asks, %u pages + %u zero pages "
                    "installed, %u already present, %u retries, %u dropped\n",
                    s.fill_asks, s.fill_pages, s.fill_zero_pages,
                    s.fill_already_present, s.fill_retries, s.fill_dropped));
}

std::string FaultStats::Json(const FaultCountersSnapshot& s) {
  std::string reasons = absl::StrJoin(
      s.retries_by_reason, ",",
      [](std::string* out, const std::pair<const std::string, uint64_t>& r) {
        absl::StrAppend(out, "\"", r.first, "\":", r.second);
      });
  return absl::StrFormat(
      "{\"faults\":%u,\"coalesced\":%u,\"answers\":{\"page\":%u,\"zero\":%u,"
      "\"frame\":%u,\"retry\":%u,\"error\":%u},\"poisoned\":%u,"
      "\"extra_pages\":%u,"
      "\"loaded_pages\":%u,\"staged_pages\":%u,\"retries_by_reason\":{%s},"
      "\"already_resolved\":%u,\"rejected_answers\":%u,\"stale_answers\":%u,"
      "\"resent\":%u,\"reconnects\":%u,\"revocations\":%u,"
      "\"latency_us\":{\"p50\":%u,\"p99\":%u,\"p999\":%u},"
      "\"background_fill\":{\"asks\":%u,\"pages\":%u,\"zero_pages\":%u,"
      "\"already_present\":%u,\"retries\":%u,\"dropped\":%u},"
      "\"elapsed_seconds\":%.3f,\"pages_per_second\":%.1f}\n",
      s.faults, s.coalesced, s.pages, s.zeros, s.frames, s.retries, s.errors,
      s.poisoned, s.extra_pages, s.loaded_pages, s.staged_pages, reasons,
      s.already_resolved, s.rejected_answers, s.stale_answers, s.resent,
      s.reconnects, s.revocations, s.latency_p50_us, s.latency_p99_us,
      s.latency_p999_us, s.fill_asks, s.fill_pages, s.fill_zero_pages,
      s.fill_already_present, s.fill_retries, s.fill_dropped, s.elapsed_seconds,
      s.pages_per_second);
}

}  // namespace faultline::vmm
