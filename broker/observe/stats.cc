#include "broker/observe/stats.h"

#include <algorithm>
#include <cmath>

namespace faultline::broker {

const std::vector<uint64_t>& LatencyHistogram::UpperBounds() {
  static const std::vector<uint64_t>* const bounds = [] {
    auto* v = new std::vector<uint64_t>;
    double bound = 1;
    while (bound < 60e6) {
      uint64_t rounded = static_cast<uint64_t>(std::ceil(bound));
      if (v->empty() || rounded > v->back()) v->push_back(rounded);
      bound *= 1.25;
    }
    return v;
  }();
  return *bounds;
}

LatencyHistogram::LatencyHistogram() : counts_(UpperBounds().size() + 1, 0) {}

void LatencyHistogram::Record(uint64_t latency_us) {
  const auto& bounds = UpperBounds();
  size_t bucket = std::lower_bound(bounds.begin(), bounds.end(), latency_us) -
                  bounds.begin();
  ++counts_[bucket];
  ++count_;
}

uint64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  const auto& bounds = UpperBounds();
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * count_));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return i < bounds.size() ? bounds[i] : bounds.back();
  }
  return bounds.back();
}

void LatencyHistogram::ToProto(v1::LatencyHistogram* out) const {
  const auto& bounds = UpperBounds();
  // Only buckets up to the last non-empty one, so that the message stays
  // small; the last one sent is open when it is the overflow bucket.
  size_t last = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) last = i + 1;
  }
  for (size_t i = 0; i < last; ++i) {
    out->add_bucket_upper_us(i < bounds.size() ? bounds[i] : UINT64_MAX);
    out->add_bucket_count(counts_[i]);
  }
  out->set_p50_us(Percentile(0.5));
  out->set_p99_us(Percentile(0.99));
  out->set_p999_us(Percentile(0.999));
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
}

void FaultStats::Record(const FaultOutcome& outcome) {
  absl::MutexLock lock(&mu_);
  ++faults_;
  switch (outcome.answer) {
    case v1::FaultAnswer::kPage:
      ++pages_;
      break;
    case v1::FaultAnswer::kZero:
      ++zeros_;
      break;
    case v1::FaultAnswer::kFrame:
      ++frames_;
      break;
    case v1::FaultAnswer::kRetry:
      ++retries_;
      ++retries_by_reason_[outcome.retry_reason];
      break;
    case v1::FaultAnswer::kError:
      ++errors_;
      ++errors_by_kind_[outcome.error_kind];
      break;
    case v1::FaultAnswer::ANSWER_NOT_SET:
      break;
  }
  if (outcome.invalid) ++invalid_;
  bytes_served_ += outcome.bytes_served;
  extra_pages_ += outcome.extra_pages;
  latency_.Record(outcome.latency_us);
}

void FaultStats::RecordReadPause(bool reask) {
  absl::MutexLock lock(&mu_);
  ++(reask ? reasks_throttled_ : reads_paused_);
}

void FaultStats::ToProto(v1::FaultCounters* out) const {
  absl::MutexLock lock(&mu_);
  out->set_faults(faults_);
  out->set_pages(pages_);
  out->set_zeros(zeros_);
  out->set_frames(frames_);
  out->set_retries(retries_);
  out->set_errors(errors_);
  out->set_bytes_served(bytes_served_);
  out->set_extra_pages(extra_pages_);
  out->set_invalid_requests(invalid_);
  out->set_reads_paused(reads_paused_);
  out->set_reasks_throttled(reasks_throttled_);
  for (const auto& [reason, count] : retries_by_reason_) {
    auto* entry = out->add_retries_by_reason();
    entry->set_reason(static_cast<v1::RetryReason>(reason));
    entry->set_count(count);
  }
  for (const auto& [kind, count] : errors_by_kind_) {
    auto* entry = out->add_errors_by_kind();
    entry->set_kind(static_cast<v1::ErrorKind>(kind));
    entry->set_count(count);
  }
  latency_.ToProto(out->mutable_latency());
}

void FaultStats::Merge(const FaultStats& other) {
  if (&other == this) return;
  // A consistent order for the two locks: by address.
  absl::Mutex* first = &mu_;
  absl::Mutex* second = &other.mu_;
  if (second < first) std::swap(first, second);
  absl::MutexLock lock_first(first);
  absl::MutexLock lock_second(second);
  faults_ += other.faults_;
  pages_ += other.pages_;
  zeros_ += other.zeros_;
  frames_ += other.frames_;
  retries_ += other.retries_;
  errors_ += other.errors_;
  bytes_served_ += other.bytes_served_;
  extra_pages_ += other.extra_pages_;
  invalid_ += other.invalid_;
  reads_paused_ += other.reads_paused_;
  reasks_throttled_ += other.reasks_throttled_;
  for (const auto& [reason, count] : other.retries_by_reason_) {
    retries_by_reason_[reason] += count;
  }
  for (const auto& [kind, count] : other.errors_by_kind_) {
    errors_by_kind_[kind] += count;
  }
  latency_.Merge(other.latency_);
}

const char* AnswerKindName(v1::FaultAnswer::AnswerCase answer) {
  switch (answer) {
    case v1::FaultAnswer::kPage:
      return "page";
    case v1::FaultAnswer::kZero:
      return "zero";
    case v1::FaultAnswer::kFrame:
      return "frame";
    case v1::FaultAnswer::kRetry:
      return "retry";
    case v1::FaultAnswer::kError:
      return "error";
    case v1::FaultAnswer::ANSWER_NOT_SET:
      break;
  }
  return "none";
}

}  // namespace faultline::broker
