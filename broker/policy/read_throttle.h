// Flow control for a transport that reads a session's requests itself (the
// Faults stream; a shared-memory ring): while the session is over its quota
// its next request is not taken, so the excess waits in the transport (HTTP/2
// flow control pushes back on the client, a ring fills) and costs the broker
// nothing, instead of each excess fault costing a read, an over-quota retry
// answer and a re-ask. Re-asks of retried faults (attempt > 1) are spaced to
// a per-session token bucket, so a session that re-asks at once is read at
// that rate.
//
// Threading contract (thread-safe; every transport of a session shares its
// one throttle):
// - Before taking a request, a transport calls MayTake(). On kTake it takes
//   one and calls Took() for a fault. Otherwise it takes nothing:
//   * kInFlight: `resume` is kept and run once, by the thread that calls
//     Answered() and finds the session under its limit again (every fault
//     in flight ends in an answer, so the wait ends: answers never wait on
//     a read). A resume must not block; it asks MayTake() again.
//   * kFaultRate, kReaskRate: `resume` is dropped; the transport asks again
//     at `not_before` on a timer (FaultProcessor::MayTake sets the
//     scheduler's for it).
// - Whoever finishes a fault calls SessionQuota::Release() and then
//   Answered(), and runs the resumes it returns outside its own locks.
// - A transport that ends while waiting needs nothing: its resume (which
//   must hold only what outlives the transport) runs or is dropped with the
//   throttle, and finds the transport ended.
#ifndef FAULTLINE_BROKER_POLICY_READ_THROTTLE_H_
#define FAULTLINE_BROKER_POLICY_READ_THROTTLE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/policy/quota.h"
#include "broker/policy/token_bucket.h"

namespace faultline::broker {

// The --max_reasks_per_second default: a VMM that follows retry delay hints
// re-asks far less often; one that re-asks at once is held to this.
inline constexpr uint32_t kDefaultMaxReasksPerSecond = 2000;

class ReadThrottle {
 public:
  using Resume = std::function<void()>;

  enum class Wait {
    kNone,       // take the next request now
    kInFlight,   // at the faults-in-flight limit: until an answer
    kFaultRate,  // over the faults-per-second limit: until not_before
    kReaskRate,  // over the re-asks-per-second limit: until not_before
  };
  struct Verdict {
    Wait wait = Wait::kNone;
    absl::Time not_before = absl::InfinitePast();
  };

  // `quota` outlives the throttle. `max_reasks_per_second` 0: re-asks are
  // not limited; otherwise the bucket holds 50 ms of them (at least one).
  ReadThrottle(SessionQuota& quota, uint32_t max_reasks_per_second);

  ReadThrottle(const ReadThrottle&) = delete;
  ReadThrottle& operator=(const ReadThrottle&) = delete;

  // `resume` is copied only when kept (kInFlight).
  Verdict MayTake(absl::Time now, const Resume& resume)
      ABSL_LOCKS_EXCLUDED(mu_);
  // A fault was taken; `reask` when its attempt is above 1.
  void Took(bool reask, absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);
  // A fault was answered (after its quota slot was released): the resumes
  // of transports that may take again now, for the caller to run.
  std::vector<Resume> Answered() ABSL_LOCKS_EXCLUDED(mu_);

  // Transports waiting for an answer now (for tests and metrics).
  size_t waiting() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  SessionQuota& quota_;
  mutable absl::Mutex mu_;
  std::optional<TokenBucket> reasks_ ABSL_GUARDED_BY(mu_);
  // Checked and filled under mu_, after the quota's slot is released, so a
  // transport never parks after the answer that would have resumed it.
  std::vector<Resume> waiting_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_POLICY_READ_THROTTLE_H_
