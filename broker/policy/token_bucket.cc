#include "broker/policy/token_bucket.h"

#include <algorithm>

namespace faultline::broker {

TokenBucket::TokenBucket(double per_second, double capacity)
    : per_second_(per_second),
      capacity_(std::max(capacity, 1.0)),
      tokens_(capacity_) {}

void TokenBucket::Refill(absl::Time now) {
  if (refilled_at_ != absl::InfinitePast() && now > refilled_at_) {
    tokens_ = std::min(
        capacity_,
        tokens_ + absl::ToDoubleSeconds(now - refilled_at_) * per_second_);
  }
  refilled_at_ = std::max(refilled_at_, now);
}

absl::Duration TokenBucket::Wait(absl::Time now) {
  Refill(now);
  if (tokens_ >= 1.0) return absl::ZeroDuration();
  // Rounded up to the microsecond, so waiting that long always suffices.
  return absl::Ceil(absl::Seconds((1.0 - tokens_) / per_second_),
                    absl::Microseconds(1));
}

bool TokenBucket::TryTake(absl::Time now) {
  Refill(now);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

void TokenBucket::Take(absl::Time now) {
  Refill(now);
  tokens_ = std::max(tokens_ - 1.0, -capacity_);
}

}  // namespace faultline::broker
