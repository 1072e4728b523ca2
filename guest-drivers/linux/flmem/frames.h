// What flmem does to mapped pages: the host's pattern, the guest's
// signature, and the marks two processes exchange. Every access goes
// through a volatile pointer, so each is a real load or store and a page's
// first touch really faults. Writes end with a store fence: the device
// window is mapped write-combining.
//
// Threading: functions of their arguments; callers split pages between
// threads.
#ifndef FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_FRAMES_H_
#define FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_FRAMES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace faultline::flmem {

inline constexpr uint64_t kPageBytes = 4096;
inline constexpr uint64_t kWordsPerPage = kPageBytes / 8;

struct Mismatch {
  uint64_t page;  // in the mapping
  uint64_t word;
  uint64_t expected;
  uint64_t got;
};

// Compares a page with frame `frame` of pattern `seed`; word 511 must hold
// the frame's signature instead when `signed_frame`. Appends up to `limit`
// mismatches in all to `found` and returns how many words differ.
uint64_t CheckPage(const volatile uint64_t* page, uint64_t mapped_page,
                   uint64_t seed, uint64_t frame, bool signed_frame,
                   std::vector<Mismatch>* found, size_t limit);

void FillPage(volatile uint64_t* page, uint64_t seed, uint64_t frame);
void SignPage(volatile uint64_t* page, uint64_t frame);

// The word two processes use to show each other their writes (word 510),
// and the values each side writes there.
inline constexpr uint64_t kShareWord = 510;
constexpr uint64_t ShareMark(uint64_t mapped_page, bool from_child) {
  return 0x5348415245000000ull | (mapped_page << 1) | (from_child ? 1 : 0);
}

void StoreFence();

std::string DescribeMismatch(const Mismatch& mismatch);

}  // namespace faultline::flmem

#endif  // FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_FRAMES_H_
