// A token bucket: `per_second` tokens a second, holding at most `capacity`,
// full at the start. Time is passed in, so tests control it.
//
// Not thread-safe: its owner locks.
#ifndef FAULTLINE_BROKER_POLICY_TOKEN_BUCKET_H_
#define FAULTLINE_BROKER_POLICY_TOKEN_BUCKET_H_

#include "absl/time/time.h"

namespace faultline::broker {

class TokenBucket {
 public:
  // `per_second` > 0; `capacity` >= 1.
  TokenBucket(double per_second, double capacity);

  // How long until a whole token is there (zero: one is there now).
  absl::Duration Wait(absl::Time now);
  // Takes a token if one is there.
  bool TryTake(absl::Time now);
  // Takes a token even if none is there: the bucket goes into debt (at most
  // one capacity deep), which later waits pay back.
  void Take(absl::Time now);

 private:
  void Refill(absl::Time now);

  const double per_second_;
  const double capacity_;
  double tokens_;
  absl::Time refilled_at_ = absl::InfinitePast();
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_POLICY_TOKEN_BUCKET_H_
