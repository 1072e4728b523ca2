// Deterministic content from proto/pattern.h, keyed on the page's
// guest-physical frame number so that a guest can verify what it reads.
#ifndef FAULTLINE_BROKER_SOURCES_PATTERN_SOURCE_H_
#define FAULTLINE_BROKER_SOURCES_PATTERN_SOURCE_H_

#include <cstdint>
#include <string>

#include "broker/sources/source.h"

namespace faultline::broker {

class PatternSource : public PageSource {
 public:
  PatternSource(uint64_t seed, uint64_t guest_physical_base)
      : seed_(seed), guest_physical_base_(guest_physical_base) {}

  void Answer(uint64_t offset, v1::FaultAnswer* answer) const override;
  std::string Describe() const override;
  bool MayBlock() const override { return false; }

 private:
  const uint64_t seed_;
  const uint64_t guest_physical_base_;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SOURCES_PATTERN_SOURCE_H_
