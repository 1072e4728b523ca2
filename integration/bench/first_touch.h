// The side-by-side workload's one toucher: a single thread reads the first
// byte of every page in a plan, timing each first access, and says which
// touches had to wait (the page was not resident just before: mincore).
// The same code runs in-process (faultline's modes and the limit) and in
// the process CRIU restores (criu_toucher), so every peer is timed alike.
// Pages hold the pattern source's content (proto/pattern.h), so every page
// can be checked afterwards wherever it came from.
#ifndef FAULTLINE_INTEGRATION_BENCH_FIRST_TOUCH_H_
#define FAULTLINE_INTEGRATION_BENCH_FIRST_TOUCH_H_

#include <cstdint>
#include <vector>

namespace faultline::bench {

// The benchmarks' pattern region: where it sits in guest-physical space (its
// pages' frame numbers) and its seed.
inline constexpr uint64_t kBenchRamBase = 0x200000;
inline constexpr uint64_t kBenchSeed = 0x5eed;

struct FirstTouchRun {
  std::vector<int64_t> nanos;   // first-access latency, in plan order
  std::vector<uint8_t> waited;  // 1: the page was not resident before
  int64_t wall_nanos = 0;       // first touch to last, probes included
};

// Reserves `pages` entries so the loop itself allocates nothing (a restored
// process would fault on fresh heap pages too).
void ReserveFirstTouchRun(uint64_t pages, FirstTouchRun* run);

// Touches `plan` (page indexes into the region at `base`) in order.
void TouchInOrder(const uint8_t* base, const std::vector<uint64_t>& plan,
                  FirstTouchRun* run);

// Fills `pages` pages at `base` with the benchmark pattern.
void FillPattern(uint8_t* base, uint64_t pages);

// How many of the `pages` pages at `base` differ from the pattern.
uint64_t MismatchedPages(const uint8_t* base, uint64_t pages);

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_FIRST_TOUCH_H_
