// Page contents for store tests and benchmarks that every reader can check:
// page p of a run with seed S is proto/pattern.h's page for frame p.
#ifndef FAULTLINE_BROKER_REDIS_TESTING_PATTERN_PAGES_H_
#define FAULTLINE_BROKER_REDIS_TESTING_PATTERN_PAGES_H_

#include <cstdint>
#include <string>

#include "proto/pattern.h"

namespace faultline::broker::redis::testing {

// `count` pages, the first being page `first_page`.
inline std::string PatternPages(uint64_t seed, uint64_t first_page,
                                uint64_t count) {
  std::string pages(count * pattern::kPageBytes, '\0');
  for (uint64_t i = 0; i < count; ++i) {
    pattern::FillPage(
        seed, first_page + i,
        reinterpret_cast<uint64_t*>(&pages[i * pattern::kPageBytes]));
  }
  return pages;
}

}  // namespace faultline::broker::redis::testing

#endif  // FAULTLINE_BROKER_REDIS_TESTING_PATTERN_PAGES_H_
