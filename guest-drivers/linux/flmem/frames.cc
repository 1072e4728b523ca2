#include "guest-drivers/linux/flmem/frames.h"

#include <cinttypes>
#include <cstdio>

#include "proto/guest_abi.h"
#include "proto/pattern.h"

namespace faultline::flmem {

namespace abi = ::faultline::guest_abi;

uint64_t CheckPage(const volatile uint64_t* page, uint64_t mapped_page,
                   uint64_t seed, uint64_t frame, bool signed_frame,
                   std::vector<Mismatch>* found, size_t limit) {
  uint64_t mismatches = 0;
  for (uint64_t w = 0; w < kWordsPerPage; ++w) {
    const uint64_t expected = signed_frame && w == abi::kPciMemSignatureWord
                                  ? abi::PciMemFrameSignature(frame)
                                  : pattern::Word(seed, frame, w);
    const uint64_t got = page[w];
    if (got == expected) continue;
    ++mismatches;
    if (found->size() < limit) {
      found->push_back(Mismatch{mapped_page, w, expected, got});
    }
  }
  return mismatches;
}

void FillPage(volatile uint64_t* page, uint64_t seed, uint64_t frame) {
  for (uint64_t w = 0; w < kWordsPerPage; ++w) {
    page[w] = pattern::Word(seed, frame, w);
  }
}

void SignPage(volatile uint64_t* page, uint64_t frame) {
  page[abi::kPciMemSignatureWord] = abi::PciMemFrameSignature(frame);
}

void StoreFence() { __builtin_ia32_sfence(); }

std::string DescribeMismatch(const Mismatch& mismatch) {
  char text[128];
  std::snprintf(text, sizeof(text),
                "page %" PRIu64 " word %" PRIu64 ": expected 0x%016" PRIx64
                ", got 0x%016" PRIx64,
                mismatch.page, mismatch.word, mismatch.expected, mismatch.got);
  return text;
}

}  // namespace faultline::flmem
