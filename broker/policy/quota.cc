#include "broker/policy/quota.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace faultline::broker {

// A full in-flight window empties in about a fault's service time.
constexpr uint32_t kInFlightRetryDelayUs = 500;

SessionQuota::SessionQuota(uint32_t max_in_flight, uint32_t max_per_second)
    : max_in_flight_(max_in_flight), max_per_second_(max_per_second) {
  if (max_per_second_ != 0) tokens_.emplace(max_per_second_, max_per_second_);
}

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
  if (tokens_.has_value() && !tokens_->TryTake(now)) {
    const int64_t wait_us = absl::ToInt64Microseconds(tokens_->Wait(now));
    v1::RetryAnswer retry;
    retry.set_reason(v1::RETRY_REASON_OVER_QUOTA);
    retry.set_delay_hint_us(
        static_cast<uint32_t>(std::clamp<int64_t>(wait_us, 1, 1'000'000)));
    retry.set_detail(absl::StrCat("session is over its rate of ",
                                  max_per_second_, " faults per second"));
    return retry;
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

bool SessionQuota::in_flight_full() const {
  absl::MutexLock lock(&mu_);
  return max_in_flight_ != 0 && in_flight_ >= max_in_flight_;
}

SessionQuota::Room SessionQuota::RoomAt(absl::Time now) {
  absl::MutexLock lock(&mu_);
  Room room;
  room.in_flight_full = max_in_flight_ != 0 && in_flight_ >= max_in_flight_;
  if (tokens_.has_value()) room.token_wait = tokens_->Wait(now);
  return room;
}

}  // namespace faultline::broker
