// A broker's local copy of page windows it read, bounded in bytes (least
// recently used windows go first), each entry tagged with the window version
// it was read at. It only stores: RedisStore decides when an entry may be
// served (the rule is in redis_store.h).
//
// Thread-safe.
#ifndef FAULTLINE_BROKER_REDIS_WINDOW_CACHE_H_
#define FAULTLINE_BROKER_REDIS_WINDOW_CACHE_H_

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "broker/redis/window_layout.h"

namespace faultline::broker::redis {

using WindowPages =
    std::array<std::shared_ptr<const std::string>, kWindowPages>;

class WindowCache {
 public:
  // 0 turns the cache off.
  explicit WindowCache(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

  WindowCache(const WindowCache&) = delete;
  WindowCache& operator=(const WindowCache&) = delete;

  struct Snapshot {
    std::string version;
    uint32_t present = 0;  // at `version`
    WindowPages pages;     // bytes of cached present pages, else null
  };
  // The entry of `key` when it holds the bytes of every page of `mask` that
  // was present at its version.
  std::optional<Snapshot> Find(const std::string& key, uint32_t mask)
      ABSL_LOCKS_EXCLUDED(mu_);
  // What a read of `mask` found at `version`: the bytes of its present
  // pages. Merged into an entry of the same version, else replaces it.
  void Store(const std::string& key, const std::string& version,
             uint32_t present, uint32_t mask, const WindowPages& pages)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Drops every entry whose key starts with `prefix`.
  void EraseMatching(absl::string_view prefix) ABSL_LOCKS_EXCLUDED(mu_);

  struct Stats {
    uint64_t entries = 0;
    uint64_t bytes = 0;
    uint64_t evictions = 0;
  };
  Stats stats() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t capacity() const { return capacity_; }

 private:
  struct Entry {
    std::string key;
    Snapshot snapshot;
    uint32_t cached = 0;  // pages whose bytes are held
    uint64_t bytes = 0;
  };
  void EvictOverCapacity() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Remove(std::list<Entry>::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const uint64_t capacity_;
  mutable absl::Mutex mu_;
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> by_key_
      ABSL_GUARDED_BY(mu_);
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t evictions_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace faultline::broker::redis

#endif  // FAULTLINE_BROKER_REDIS_WINDOW_CACHE_H_
