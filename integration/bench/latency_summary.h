// Exact latency percentiles from every sample of a run (no histogram
// buckets: runs are small enough to keep each sample).
#ifndef FAULTLINE_INTEGRATION_BENCH_LATENCY_SUMMARY_H_
#define FAULTLINE_INTEGRATION_BENCH_LATENCY_SUMMARY_H_

#include <cstdint>
#include <vector>

namespace faultline::bench {

struct LatencySummary {
  uint64_t count = 0;
  double p50_us = 0;
  double p99_us = 0;
  double p999_us = 0;
  double max_us = 0;
};

// Nearest-rank percentiles of `nanos`, which it sorts.
LatencySummary Summarize(std::vector<int64_t>& nanos);

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_LATENCY_SUMMARY_H_
