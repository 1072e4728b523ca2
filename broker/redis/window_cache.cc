#include "broker/redis/window_cache.h"

#include "absl/strings/match.h"

namespace faultline::broker::redis {
namespace {

// What an entry costs besides its pages: key, version, list and map nodes.
constexpr uint64_t kEntryOverheadBytes = 256;

}  // namespace

std::optional<WindowCache::Snapshot> WindowCache::Find(const std::string& key,
                                                       uint32_t mask) {
  if (capacity_ == 0) return std::nullopt;
  absl::MutexLock lock(&mu_);
  auto found = by_key_.find(key);
  if (found == by_key_.end()) return std::nullopt;
  const Entry& entry = *found->second;
  const uint32_t needed = mask & entry.snapshot.present;
  if ((needed & entry.cached) != needed) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, found->second);
  return entry.snapshot;
}

void WindowCache::Store(const std::string& key, const std::string& version,
                        uint32_t present, uint32_t mask,
                        const WindowPages& pages) {
  if (capacity_ == 0) return;
  absl::MutexLock lock(&mu_);
  auto found = by_key_.find(key);
  if (found != by_key_.end() && found->second->snapshot.version != version) {
    Remove(found->second);
    found = by_key_.end();
  }
  if (found == by_key_.end()) {
    lru_.push_front(
        Entry{key, Snapshot{version, present, {}}, 0, kEntryOverheadBytes});
    by_key_[key] = lru_.begin();
    bytes_ += kEntryOverheadBytes;
  } else {
    lru_.splice(lru_.begin(), lru_, found->second);
  }
  Entry& entry = lru_.front();
  const uint32_t adding = mask & present & ~entry.cached;
  for (uint32_t page = 0; page < kWindowPages; ++page) {
    if ((adding & (1u << page)) == 0 || pages[page] == nullptr) continue;
    entry.snapshot.pages[page] = pages[page];
    entry.cached |= 1u << page;
    entry.bytes += kPageBytes;
    bytes_ += kPageBytes;
  }
  EvictOverCapacity();
}

void WindowCache::EraseMatching(absl::string_view prefix) {
  absl::MutexLock lock(&mu_);
  for (auto it = lru_.begin(); it != lru_.end();) {
    auto next = std::next(it);
    if (absl::StartsWith(it->key, prefix)) Remove(it);
    it = next;
  }
}

WindowCache::Stats WindowCache::stats() const {
  absl::MutexLock lock(&mu_);
  return Stats{by_key_.size(), bytes_, evictions_};
}

void WindowCache::EvictOverCapacity() {
  while (bytes_ > capacity_ && !lru_.empty()) {
    Remove(std::prev(lru_.end()));
    ++evictions_;
  }
}

void WindowCache::Remove(std::list<Entry>::iterator it) {
  bytes_ -= it->bytes;
  by_key_.erase(it->key);
  lru_.erase(it);
}

}  // namespace faultline::broker::redis
