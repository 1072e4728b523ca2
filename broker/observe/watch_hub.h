// Fans answered-fault events out to WatchFaults streams. Publishing never
// blocks: each watcher has a bounded queue; when it is full the event is
// dropped for that watcher and counted.
//
// Thread-safe. A watcher's `wake` callback runs on the publishing thread,
// outside every lock of the hub; it must not block.
#ifndef FAULTLINE_BROKER_OBSERVE_WATCH_HUB_H_
#define FAULTLINE_BROKER_OBSERVE_WATCH_HUB_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

class WatchQueue {
 public:
  WatchQueue(std::string session_filter, size_t capacity,
             std::function<void()> wake)
      : session_filter_(std::move(session_filter)),
        capacity_(capacity),
        wake_(std::move(wake)) {}

  // False when the queue was full and the event was dropped.
  bool Push(const v1::FaultEvent& event) ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<v1::FaultEvent> Pop() ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t dropped() const ABSL_LOCKS_EXCLUDED(mu_);
  const std::string& session_filter() const { return session_filter_; }
  void Wake() const { wake_(); }

 private:
  const std::string session_filter_;
  const size_t capacity_;
  const std::function<void()> wake_;
  mutable absl::Mutex mu_;
  std::deque<v1::FaultEvent> events_ ABSL_GUARDED_BY(mu_);
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

class WatchHub {
 public:
  static constexpr size_t kQueueCapacity = 4096;

  std::shared_ptr<WatchQueue> Subscribe(std::string session_filter,
                                        std::function<void()> wake)
      ABSL_LOCKS_EXCLUDED(mu_);
  void Unsubscribe(const std::shared_ptr<WatchQueue>& queue)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Cheap check so the fault path builds events only when someone watches.
  bool has_watchers() const {
    return watcher_count_.load(std::memory_order_relaxed) > 0;
  }
  void Publish(const v1::FaultEvent& event) ABSL_LOCKS_EXCLUDED(mu_);
  // Events dropped for slow watchers since the broker started.
  uint64_t dropped_total() const {
    return dropped_total_.load(std::memory_order_relaxed);
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<WatchQueue>> queues_ ABSL_GUARDED_BY(mu_);
  std::atomic<size_t> watcher_count_{0};
  std::atomic<uint64_t> dropped_total_{0};
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_OBSERVE_WATCH_HUB_H_
