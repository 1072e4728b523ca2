#include "broker/sources/zero_source.h"

namespace faultline::broker {

void ZeroSource::Answer(uint64_t /*offset*/, v1::FaultAnswer* answer) const {
  answer->mutable_zero();
}

}  // namespace faultline::broker
