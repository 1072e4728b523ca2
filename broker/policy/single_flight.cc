#include "broker/policy/single_flight.h"

namespace faultline::broker {

bool SingleFlight::Join(const Key& key, Waiter waiter) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = flights_.try_emplace(key);
  if (inserted) return true;
  it->second.push_back(std::move(waiter));
  return false;
}

std::vector<SingleFlight::Waiter> SingleFlight::Complete(const Key& key) {
  absl::MutexLock lock(&mu_);
  auto it = flights_.find(key);
  if (it == flights_.end()) return {};
  std::vector<Waiter> waiters = std::move(it->second);
  flights_.erase(it);
  return waiters;
}

size_t SingleFlight::flights() const {
  absl::MutexLock lock(&mu_);
  return flights_.size();
}

size_t SingleFlight::waiters() const {
  absl::MutexLock lock(&mu_);
  size_t total = 0;
  for (const auto& [key, waiting] : flights_) total += waiting.size();
  return total;
}

}  // namespace faultline::broker
