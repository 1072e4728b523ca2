// Checking guest pages against the pattern source (proto/pattern.h), shared
// by the payloads. Every access goes through a volatile pointer: each is a
// real load or store, so a page's first touch really faults.
// Portable: built for the host in tests as well.
#ifndef FAULTLINE_GUEST_DRIVERS_PAYLOADS_PAGE_CHECK_H_
#define FAULTLINE_GUEST_DRIVERS_PAYLOADS_PAGE_CHECK_H_

#include <stdint.h>

namespace faultline::guest {

// Told about each mismatching word (the guest prints the first few).
class MismatchReporter {
 public:
  virtual void Report(uint64_t address, uint64_t expected, uint64_t got) = 0;

 protected:
  ~MismatchReporter() = default;
};

// What a write pass stores: derived from the pattern but never equal to it,
// so a write that did not land cannot pass for one that did.
constexpr uint64_t WrittenWord(uint64_t pattern_word) { return ~pattern_word; }

// Compares the page at `page` against pattern (seed, guest_frame); returns
// the number of mismatching words, each one reported.
uint64_t CheckPatternPage(const volatile uint64_t* page, uint64_t seed,
                          uint64_t guest_frame, MismatchReporter& reporter);

// Writes WrittenWord(pattern) to every word, then reads them back; returns
// mismatches.
uint64_t WriteAndCheckPage(volatile uint64_t* page, uint64_t seed,
                           uint64_t guest_frame, MismatchReporter& reporter);

}  // namespace faultline::guest

#endif  // FAULTLINE_GUEST_DRIVERS_PAYLOADS_PAGE_CHECK_H_
