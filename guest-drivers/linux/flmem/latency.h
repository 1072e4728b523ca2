// Latency figures of page touches, as the guest's clock sees them.
//
// Threading: plain data.
#ifndef FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_LATENCY_H_
#define FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_LATENCY_H_

#include <cstdint>
#include <string>
#include <vector>

namespace faultline::flmem {

struct LatencySummary {
  uint64_t count = 0;
  uint64_t p50_ns = 0;
  uint64_t p90_ns = 0;
  uint64_t p99_ns = 0;
  uint64_t max_ns = 0;
  uint64_t mean_ns = 0;
};

// Nearest-rank percentiles; all zero for no samples.
LatencySummary Summarize(std::vector<uint64_t> samples_ns);

// "n=64 p50=12.3us p90=... p99=... max=... mean=..."
std::string FormatSummary(const LatencySummary& summary);

uint64_t NowNs();

}  // namespace faultline::flmem

#endif  // FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_LATENCY_H_
