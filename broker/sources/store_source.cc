#include "broker/sources/store_source.h"

#include "absl/strings/str_cat.h"

namespace faultline::broker {

void StoreSource::Answer(uint64_t offset, v1::FaultAnswer* answer) const {
  PageStore::Lookup lookup = store_->Get(offset);
  switch (lookup.state) {
    case PageStore::State::kPresent:
      answer->mutable_page()->set_data(*lookup.page);
      return;
    case PageStore::State::kBeingWritten: {
      auto* retry = answer->mutable_retry();
      retry->set_reason(v1::RETRY_REASON_BUSY);
      retry->set_delay_hint_us(kBusyRetryDelayUs);
      retry->set_detail(absl::StrCat("store ", store_->name(), ": page at ",
                                     offset, " is being written"));
      return;
    }
    case PageStore::State::kMissing:
      break;
  }
  if (missing_is_zero_) {
    answer->mutable_zero();
    return;
  }
  auto* retry = answer->mutable_retry();
  retry->set_reason(v1::RETRY_REASON_NOT_YET_AVAILABLE);
  retry->set_delay_hint_us(kNotYetAvailableRetryDelayUs);
  retry->set_detail(absl::StrCat("store ", store_->name(), ": page at ", offset,
                                 " has not been put yet"));
}

std::string StoreSource::Describe() const {
  return absl::StrCat("store ", store_->name(),
                      missing_is_zero_ ? " (missing=zero)" : "");
}

}  // namespace faultline::broker
