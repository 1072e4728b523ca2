#include "broker/sources/store_source.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {

void StoreSource::Answer(uint64_t offset, v1::FaultAnswer* answer) const {
  std::vector<StorePage> pages =
      backend_.Read(store_, offset, 1, absl::Now() + kStoreReadTimeout);
  Fill(offset, std::move(pages[0]), answer);
}

void StoreSource::AnswerRun(uint64_t offset, uint32_t count,
                            std::vector<v1::FaultAnswer>* answers) const {
  std::vector<StorePage> pages =
      backend_.Read(store_, offset, count, absl::Now() + kStoreReadTimeout);
  for (uint32_t i = 0; i < count; ++i) {
    v1::FaultAnswer& answer = answers->emplace_back();
    Fill(offset + uint64_t{i} * v1::wire::kPageBytes, std::move(pages[i]),
         &answer);
    if (!answer.has_page() && !answer.has_zero()) return;
  }
}

void StoreSource::Fill(uint64_t offset, StorePage page,
                       v1::FaultAnswer* answer) const {
  switch (page.state) {
    case StorePage::State::kPresent:
      answer->mutable_page()->set_data(*page.data);
      return;
    case StorePage::State::kBeingWritten: {
      auto* retry = answer->mutable_retry();
      retry->set_reason(v1::RETRY_REASON_BUSY);
      retry->set_delay_hint_us(kBusyRetryDelayUs);
      retry->set_detail(absl::StrCat("store ", store_, ": page at ", offset,
                                     " is being written"));
      return;
    }
    case StorePage::State::kUnavailable: {
      auto* retry = answer->mutable_retry();
      retry->set_reason(v1::RETRY_REASON_STORE_UNAVAILABLE);
      retry->set_delay_hint_us(kStoreUnavailableRetryDelayUs);
      retry->set_detail(absl::StrCat("store ", store_, ": page at ", offset,
                                     " cannot be read now: ", page.reason));
      return;
    }
    case StorePage::State::kMissing:
      break;
  }
  if (missing_is_zero_) {
    answer->mutable_zero();
    return;
  }
  auto* retry = answer->mutable_retry();
  retry->set_reason(v1::RETRY_REASON_NOT_YET_AVAILABLE);
  retry->set_delay_hint_us(kNotYetAvailableRetryDelayUs);
  retry->set_detail(absl::StrCat("store ", store_, ": page at ", offset,
                                 " has not been put yet"));
}

std::string StoreSource::Describe() const {
  return absl::StrCat("store ", store_, " (", backend_.Describe(),
                      missing_is_zero_ ? ", missing=zero)" : ")");
}

}  // namespace faultline::broker
