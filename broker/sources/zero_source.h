// Every page is a zero page.
#ifndef FAULTLINE_BROKER_SOURCES_ZERO_SOURCE_H_
#define FAULTLINE_BROKER_SOURCES_ZERO_SOURCE_H_

#include <string>

#include "broker/sources/source.h"

namespace faultline::broker {

class ZeroSource : public PageSource {
 public:
  void Answer(uint64_t offset, v1::FaultAnswer* answer) const override;
  std::string Describe() const override { return "zero"; }
  bool MayBlock() const override { return false; }
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SOURCES_ZERO_SOURCE_H_
