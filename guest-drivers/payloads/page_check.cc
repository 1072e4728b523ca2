#include "guest-drivers/payloads/page_check.h"

#include "proto/pattern.h"

namespace faultline::guest {

uint64_t CheckPatternPage(const volatile uint64_t* page, uint64_t seed,
                          uint64_t guest_frame, MismatchReporter& reporter) {
  uint64_t mismatches = 0;
  for (uint64_t w = 0; w < pattern::kWordsPerPage; ++w) {
    const uint64_t got = page[w];
    const uint64_t expected = pattern::Word(seed, guest_frame, w);
    if (got != expected) {
      ++mismatches;
      reporter.Report(reinterpret_cast<uint64_t>(&page[w]), expected, got);
    }
  }
  return mismatches;
}

uint64_t WriteAndCheckPage(volatile uint64_t* page, uint64_t seed,
                           uint64_t guest_frame, MismatchReporter& reporter) {
  for (uint64_t w = 0; w < pattern::kWordsPerPage; ++w) {
    page[w] = WrittenWord(pattern::Word(seed, guest_frame, w));
  }
  uint64_t mismatches = 0;
  for (uint64_t w = 0; w < pattern::kWordsPerPage; ++w) {
    const uint64_t got = page[w];
    const uint64_t expected = WrittenWord(pattern::Word(seed, guest_frame, w));
    if (got != expected) {
      ++mismatches;
      reporter.Report(reinterpret_cast<uint64_t>(&page[w]), expected, got);
    }
  }
  return mismatches;
}

}  // namespace faultline::guest
