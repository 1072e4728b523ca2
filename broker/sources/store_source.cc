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

namespace {

void Retry(v1::RetryReason reason, uint32_t delay_hint_us, std::string detail,
           v1::FaultAnswer* answer) {
  v1::RetryAnswer* retry = answer->mutable_retry();
  retry->set_reason(reason);
  retry->set_delay_hint_us(delay_hint_us);
  retry->set_detail(std::move(detail));
}

}  // namespace

void StoreSource::Fill(uint64_t offset, StorePage page,
                       v1::FaultAnswer* answer) const {
  switch (page.state) {
    case StorePage::State::kPresent:
      answer->mutable_page()->set_data(*page.data);
      return;
    case StorePage::State::kBeingWritten:
      Retry(v1::RETRY_REASON_BUSY, kBusyRetryDelayUs,
            absl::StrCat("store ", store_, ": page at ", offset,
                         " is being written"),
            answer);
      return;
    case StorePage::State::kUnavailable:
      Retry(v1::RETRY_REASON_STORE_UNAVAILABLE, kStoreUnavailableRetryDelayUs,
            absl::StrCat("store ", store_, ": page at ", offset,
                         " cannot be read now: ", page.reason),
            answer);
      return;
    case StorePage::State::kMissing:
      if (missing_is_zero_) {
        answer->mutable_zero();
      } else {
        Retry(v1::RETRY_REASON_NOT_YET_AVAILABLE, kNotYetAvailableRetryDelayUs,
              absl::StrCat("store ", store_, ": page at ", offset,
                           " has not been put yet"),
              answer);
      }
      return;
  }
}

std::string StoreSource::Describe() const {
  return absl::StrCat("store ", store_, " (", backend_.Describe(),
                      missing_is_zero_ ? ", missing=zero)" : ")");
}

}  // namespace faultline::broker
