#include "broker/policy/quota.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace faultline::broker {

// A full in-flight window empties in about a fault's service time.
constexpr uint32_t kInFlightRetryDelayUs = 500;

SessionQuota::SessionQuota(uint32_t max_in_flight, uint32_t max_per_second)
    : max_in_flight_(max_in_flight),
      max_per_second_(max_per_second),
      tokens_(max_per_second) {}

std::optional<v1::RetryAnswer> SessionQuota::Admit(absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (max_in_flight_ != 0 && in_flight_ >= max_in_flight_) {
    v1::RetryAnswer retry;
    retry.set_reason(v1::RETRY_REASON_OVER_QUOTA);
    retry.set_delay_hint_us(kInFlightRetryDelayUs);
    retry.set_detail(absl::StrCat("session has ", in_flight_,
                                  " faults in flight, its limit is ",
                                  max_in_flight_));
    return retry;
  }
  if (max_per_second_ != 0) {
    if (refilled_at_ != absl::InfinitePast() && now > refilled_at_) {
      tokens_ = std::min<double>(
          max_per_second_, tokens_ + absl::ToDoubleSeconds(now - refilled_at_) *
                                         max_per_second_);
    }
    refilled_at_ = std::max(refilled_at_, now);
    if (tokens_ < 1.0) {
      const double wait_us = (1.0 - tokens_) * 1e6 / max_per_second_;
      v1::RetryAnswer retry;
      retry.set_reason(v1::RETRY_REASON_OVER_QUOTA);
      retry.set_delay_hint_us(
          static_cast<uint32_t>(std::min(std::ceil(wait_us), 1e6)));
      retry.set_detail(absl::StrCat("session is over its rate of ",
                                    max_per_second_, " faults per second"));
      return retry;
    }
    tokens_ -= 1.0;
  }
  ++in_flight_;
  return std::nullopt;
}

void SessionQuota::Release() {
  absl::MutexLock lock(&mu_);
  if (in_flight_ > 0) --in_flight_;
}

uint32_t SessionQuota::in_flight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

}  // namespace faultline::broker
