#include "broker/observe/watch_hub.h"

#include <algorithm>

namespace faultline::broker {

bool WatchQueue::Push(const v1::FaultEvent& event) {
  absl::MutexLock lock(&mu_);
  if (events_.size() >= capacity_) {
    ++dropped_;
    return false;
  }
  events_.push_back(event);
  return true;
}

std::optional<v1::FaultEvent> WatchQueue::Pop() {
  absl::MutexLock lock(&mu_);
  if (events_.empty()) return std::nullopt;
  v1::FaultEvent event = std::move(events_.front());
  events_.pop_front();
  return event;
}

uint64_t WatchQueue::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

std::shared_ptr<WatchQueue> WatchHub::Subscribe(std::string session_filter,
                                                std::function<void()> wake) {
  auto queue = std::make_shared<WatchQueue>(std::move(session_filter),
                                            kQueueCapacity, std::move(wake));
  absl::MutexLock lock(&mu_);
  queues_.push_back(queue);
  watcher_count_.store(queues_.size(), std::memory_order_relaxed);
  return queue;
}

void WatchHub::Unsubscribe(const std::shared_ptr<WatchQueue>& queue) {
  absl::MutexLock lock(&mu_);
  queues_.erase(std::remove(queues_.begin(), queues_.end(), queue),
                queues_.end());
  watcher_count_.store(queues_.size(), std::memory_order_relaxed);
}

void WatchHub::Publish(const v1::FaultEvent& event) {
  std::vector<std::shared_ptr<WatchQueue>> targets;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& queue : queues_) {
      if (queue->session_filter().empty() ||
          queue->session_filter() == event.session_id()) {
        targets.push_back(queue);
      }
    }
  }
  for (const auto& queue : targets) {
    if (queue->Push(event)) {
      queue->Wake();
    } else {
      dropped_total_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

}  // namespace faultline::broker
