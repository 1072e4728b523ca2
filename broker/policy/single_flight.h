// Concurrent faults on the same page are served once: the first becomes the
// leader and computes the answer; the others wait for it as callbacks (no
// thread blocks) and get a copy.
//
// Thread-safe.
#ifndef FAULTLINE_BROKER_POLICY_SINGLE_FLIGHT_H_
#define FAULTLINE_BROKER_POLICY_SINGLE_FLIGHT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

class SingleFlight {
 public:
  // (region id, page offset).
  using Key = std::pair<uint32_t, uint64_t>;
  using Waiter = std::function<void(const v1::FaultAnswer& leader_answer)>;

  // True: the caller leads and must call Complete(key). False: another
  // fault on the page is being served; `waiter` runs when it completes.
  bool Join(const Key& key, Waiter waiter) ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the flight; returns the waiters for the leader to call (outside
  // any lock) with its answer.
  std::vector<Waiter> Complete(const Key& key) ABSL_LOCKS_EXCLUDED(mu_);

  size_t flights() const ABSL_LOCKS_EXCLUDED(mu_);
  // Followers waiting across all flights.
  size_t waiters() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  std::map<Key, std::vector<Waiter>> flights_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_POLICY_SINGLE_FLIGHT_H_
