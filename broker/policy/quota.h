// Per-session admission: a limit on faults in flight and a token-bucket rate
// limit. A fault over either answers retry OVER_QUOTA with a delay hint;
// transports that read requests themselves ask Room() first and do not read
// on until there is room (policy/read_throttle.h).
//
// Thread-safe.
#ifndef FAULTLINE_BROKER_POLICY_QUOTA_H_
#define FAULTLINE_BROKER_POLICY_QUOTA_H_

#include <cstdint>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/policy/token_bucket.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

class SessionQuota {
 public:
  // 0 for either limit: no limit of that kind.
  SessionQuota(uint32_t max_in_flight, uint32_t max_per_second);

  // Takes one in-flight slot and one token, or answers why not (nothing is
  // taken then). `now` is passed in so tests control time.
  std::optional<v1::RetryAnswer> Admit(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);
  // Gives back the in-flight slot of an admitted fault.
  void Release() ABSL_LOCKS_EXCLUDED(mu_);
  uint32_t in_flight() const ABSL_LOCKS_EXCLUDED(mu_);

  // What Admit(now) would say, taking nothing: admissible when neither
  // field is set.
  struct Room {
    bool in_flight_full = false;
    // How long until the rate limit has a token (zero: one is there).
    absl::Duration token_wait = absl::ZeroDuration();
  };
  Room RoomAt(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);
  bool in_flight_full() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const uint32_t max_in_flight_;
  const uint32_t max_per_second_;
  mutable absl::Mutex mu_;
  uint32_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  // Holds up to one second of faults; none without a rate limit.
  std::optional<TokenBucket> tokens_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_POLICY_QUOTA_H_
