#include "broker/sources/source.h"

#include "proto/faultline/v1/wire.h"

namespace faultline::broker {

void PageSource::AnswerRun(uint64_t offset, uint32_t count,
                           std::vector<v1::FaultAnswer>* answers) const {
  for (uint32_t i = 0; i < count; ++i) {
    v1::FaultAnswer& answer = answers->emplace_back();
    Answer(offset + uint64_t{i} * v1::wire::kPageBytes, &answer);
    if (!answer.has_page() && !answer.has_zero()) return;
  }
}

}  // namespace faultline::broker
