// The pattern source's content, shared by the broker (which serves it) and
// guest payloads (which verify it). Freestanding: no library beyond stdint.h.
//
// Word w (0..511) of the 4 KiB page at guest-physical frame number F, for a
// region whose PatternSource has seed S, is
//   Mix(S ^ Mix(F * 512 + w + 0x9E3779B97F4A7C15))
// where Mix is SplitMix64's finalizer. Keying on the guest-physical frame
// lets a guest check any page without knowing how regions are numbered.
#ifndef FAULTLINE_PROTO_PATTERN_H_
#define FAULTLINE_PROTO_PATTERN_H_

#include <stdint.h>

#include "proto/faultline/v1/wire.h"

namespace faultline::pattern {

using ::faultline::v1::wire::kPageBytes;
inline constexpr uint64_t kWordsPerPage = kPageBytes / sizeof(uint64_t);

constexpr uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return x;
}

constexpr uint64_t Word(uint64_t seed, uint64_t guest_frame,
                        uint64_t word_index) {
  return Mix(seed ^ Mix(guest_frame * kWordsPerPage + word_index +
                        0x9E3779B97F4A7C15ull));
}

// Writes the page at `guest_frame` into `page` (kWordsPerPage words).
inline void FillPage(uint64_t seed, uint64_t guest_frame, uint64_t* page) {
  for (uint64_t w = 0; w < kWordsPerPage; ++w)
    page[w] = Word(seed, guest_frame, w);
}

// Returns how many words of `page` differ from the pattern.
inline uint64_t CountMismatches(uint64_t seed, uint64_t guest_frame,
                                const volatile uint64_t* page) {
  uint64_t mismatches = 0;
  for (uint64_t w = 0; w < kWordsPerPage; ++w) {
    if (page[w] != Word(seed, guest_frame, w)) ++mismatches;
  }
  return mismatches;
}

}  // namespace faultline::pattern

#endif  // FAULTLINE_PROTO_PATTERN_H_
