#include "guest-drivers/linux/flmem/latency.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>

namespace faultline::flmem {
namespace {

uint64_t Rank(const std::vector<uint64_t>& sorted, uint64_t percent) {
  // Nearest rank: the smallest sample at or above `percent` of them.
  const uint64_t rank = (percent * sorted.size() + 99) / 100;
  return sorted[rank == 0 ? 0 : rank - 1];
}

std::string Micros(uint64_t ns) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1fus", static_cast<double>(ns) / 1e3);
  return text;
}

}  // namespace

LatencySummary Summarize(std::vector<uint64_t> samples_ns) {
  LatencySummary summary;
  if (samples_ns.empty()) return summary;
  std::sort(samples_ns.begin(), samples_ns.end());
  summary.count = samples_ns.size();
  summary.p50_ns = Rank(samples_ns, 50);
  summary.p90_ns = Rank(samples_ns, 90);
  summary.p99_ns = Rank(samples_ns, 99);
  summary.max_ns = samples_ns.back();
  uint64_t total = 0;
  for (uint64_t ns : samples_ns) total += ns;
  summary.mean_ns = total / samples_ns.size();
  return summary;
}

std::string FormatSummary(const LatencySummary& summary) {
  return "n=" + std::to_string(summary.count) +
         " p50=" + Micros(summary.p50_ns) + " p90=" + Micros(summary.p90_ns) +
         " p99=" + Micros(summary.p99_ns) + " max=" + Micros(summary.max_ns) +
         " mean=" + Micros(summary.mean_ns);
}

uint64_t NowNs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000u +
         static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace faultline::flmem
