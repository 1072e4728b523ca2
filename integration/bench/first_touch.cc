#include "integration/bench/first_touch.h"

#include <sys/mman.h>

#include <chrono>

#include "proto/pattern.h"

namespace faultline::bench {
namespace {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool Resident(const uint8_t* page) {
  unsigned char vector = 0;
  // The probe is outside the timed window; an error counts as "waited".
  if (::mincore(const_cast<uint8_t*>(page), pattern::kPageBytes, &vector) !=
      0) {
    return false;
  }
  return (vector & 1) != 0;
}

uint64_t FrameOf(uint64_t page) {
  return kBenchRamBase / pattern::kPageBytes + page;
}

}  // namespace

void ReserveFirstTouchRun(uint64_t pages, FirstTouchRun* run) {
  run->nanos.clear();
  run->waited.clear();
  run->nanos.reserve(pages);
  run->waited.reserve(pages);
}

void TouchInOrder(const uint8_t* base, const std::vector<uint64_t>& plan,
                  FirstTouchRun* run) {
  const int64_t started = NowNanos();
  for (const uint64_t page : plan) {
    const uint8_t* address = base + page * pattern::kPageBytes;
    const bool resident = Resident(address);
    const int64_t before = NowNanos();
    (void)*static_cast<const volatile uint8_t*>(address);
    run->nanos.push_back(NowNanos() - before);
    run->waited.push_back(resident ? 0 : 1);
  }
  run->wall_nanos = NowNanos() - started;
}

void FillPattern(uint8_t* base, uint64_t pages) {
  for (uint64_t page = 0; page < pages; ++page) {
    pattern::FillPage(
        kBenchSeed, FrameOf(page),
        reinterpret_cast<uint64_t*>(base + page * pattern::kPageBytes));
  }
}

uint64_t MismatchedPages(const uint8_t* base, uint64_t pages) {
  uint64_t mismatched = 0;
  for (uint64_t page = 0; page < pages; ++page) {
    const auto* words =
        reinterpret_cast<const uint64_t*>(base + page * pattern::kPageBytes);
    if (pattern::CountMismatches(kBenchSeed, FrameOf(page), words) != 0) {
      ++mismatched;
    }
  }
  return mismatched;
}

}  // namespace faultline::bench
