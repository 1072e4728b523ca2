#include "broker/sources/pattern_source.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "proto/faultline/v1/wire.h"
#include "proto/pattern.h"

namespace faultline::broker {

void PatternSource::Answer(uint64_t offset, v1::FaultAnswer* answer) const {
  uint64_t words[pattern::kWordsPerPage];
  pattern::FillPage(
      seed_, (guest_physical_base_ + offset) / v1::wire::kPageBytes, words);
  answer->mutable_page()->set_data(reinterpret_cast<const char*>(words),
                                   sizeof(words));
}

std::string PatternSource::Describe() const {
  return absl::StrCat("pattern seed=", seed_);
}

}  // namespace faultline::broker
