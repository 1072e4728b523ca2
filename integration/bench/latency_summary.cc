#include "integration/bench/latency_summary.h"

#include <algorithm>
#include <cmath>

namespace faultline::bench {
namespace {

double PercentileUs(const std::vector<int64_t>& sorted, double fraction) {
  const size_t rank = static_cast<size_t>(
      std::ceil(fraction * static_cast<double>(sorted.size())));
  const size_t index = rank == 0 ? 0 : rank - 1;
  return static_cast<double>(sorted[std::min(index, sorted.size() - 1)]) /
         1000.0;
}

}  // namespace

LatencySummary Summarize(std::vector<int64_t>& nanos) {
  LatencySummary summary;
  if (nanos.empty()) return summary;
  std::sort(nanos.begin(), nanos.end());
  summary.count = nanos.size();
  summary.p50_us = PercentileUs(nanos, 0.50);
  summary.p99_us = PercentileUs(nanos, 0.99);
  summary.p999_us = PercentileUs(nanos, 0.999);
  summary.max_us = static_cast<double>(nanos.back()) / 1000.0;
  return summary;
}

}  // namespace faultline::bench
