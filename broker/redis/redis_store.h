// The store backend on a Redis Cluster (or one standalone server) that many
// brokers share. Key layout: window_layout.h. Reads and writes of a window
// are transactions (window_commands.h), atomic on the node that holds it.
//
// The cache rule. Every write of a window sets, in the same transaction
// that changes its bytes, a version no writer used before (16 bytes: the
// writing broker's random id and its own counter). A read of a window the
// cache holds asks the node for the window's header; the cached pages are
// served only when the header's version is the cached one, otherwise the
// pages are read again. So a cached page is served only when the node that
// holds the window says, in this very read, that nothing wrote the window
// since the copy was made: a page changed through any broker is never
// served stale. A failover or a restart that loses writes takes the version
// back together with the bytes, so the rule holds then too. The cache saves
// bytes on the wire and the node's work, not the round trip.
//
// Durability. A write returns when every window's script has run on its
// master. With the servers' `appendonly yes` and `appendfsync everysec` the
// master has written it to its append-only file before it answers, so a
// killed server (or the whole cluster) loses nothing; a power loss of the
// machine loses up to about a second. Replication is asynchronous: with
// `ack_replicated` a write is also WAITed for (WAIT 1) on every master it
// touched and fails UNAVAILABLE unless a replica has it, so acknowledged
// writes survive a failover.
//
// Thread-safe: every method may run on many threads at once; each thread
// has its own connection to each node (client.h).
#ifndef FAULTLINE_BROKER_REDIS_REDIS_STORE_H_
#define FAULTLINE_BROKER_REDIS_REDIS_STORE_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/redis/client.h"
#include "broker/redis/window_cache.h"
#include "broker/redis/window_commands.h"
#include "broker/redis/window_layout.h"
#include "broker/sources/store_backend.h"

namespace faultline::broker::redis {

struct RedisStoreOptions {
  ClientOptions client;
  StoreLimits limits;
  uint64_t cache_bytes = uint64_t{256} << 20;  // 0: no cache
  // Acknowledged means replicated: WAIT 1 on every master a write touched.
  bool ack_replicated = false;
  absl::Duration replica_wait = absl::Milliseconds(500);
  // How long busy marks of a write hold if its broker dies before ending it.
  absl::Duration busy_lease = absl::Seconds(5);
};

class RedisStore : public StoreBackend {
 public:
  // Connects, checks (or sets) the layout marker and loads the scripts.
  // FAILED_PRECONDITION when the servers hold pages in another layout.
  static absl::StatusOr<std::unique_ptr<RedisStore>> Connect(
      RedisStoreOptions options, absl::Time deadline);

  std::string Describe() const override;
  const StoreLimits& limits() const override { return options_.limits; }
  std::vector<StorePage> Read(absl::string_view store, uint64_t offset,
                              uint32_t count, absl::Time deadline) override;
  absl::Status Write(absl::string_view store, uint64_t offset,
                     absl::string_view data, absl::Time deadline) override;
  absl::StatusOr<uint64_t> Delete(absl::string_view store,
                                  absl::Time deadline) override;
  absl::StatusOr<std::vector<StoreInfo>> List(absl::Time deadline) override;

  // Write in its steps, public so tests can hold a write open between them.
  struct PendingWrite {
    std::string store;
    uint64_t first_page = 0;
    std::vector<WindowSpan> spans;
    std::vector<uint32_t> present_before;  // per span, at BeginWrite
    uint64_t reserved_pages = 0;           // counted against limits already
  };
  // Validates, and marks the pages busy for `lease`.
  absl::StatusOr<PendingWrite> BeginWrite(absl::string_view store,
                                          uint64_t offset, uint64_t size,
                                          absl::Duration lease,
                                          absl::Time deadline);
  // Stores `data`, ends the busy marks, counts new pages, and WAITs for a
  // replica when asked to.
  absl::Status FinishWrite(PendingWrite& write, absl::string_view data,
                           absl::Time deadline);
  // Clears the busy marks of a write that will not finish.
  void AbandonWrite(const PendingWrite& write, absl::Time deadline);

  struct CacheStats {
    uint64_t hits = 0;    // windows served from the cache after the check
    uint64_t misses = 0;  // windows whose bytes came from Redis
    WindowCache::Stats cache;
  };
  CacheStats cache_stats() const;
  Client& client() { return *client_; }

 private:
  RedisStore(RedisStoreOptions options, std::unique_ptr<Client> client,
             WindowCommands commands);
  // The next never-used window version.
  std::string NextVersion();
  // Adds `pages` to the store's and the total count; returns the counts
  // after, or the failure.
  absl::StatusOr<std::pair<int64_t, int64_t>> AddPages(
      absl::string_view store, int64_t pages, const CallOptions& options);
  absl::Status WaitForReplicas(const std::vector<NodeAddress>& masters,
                               const CallOptions& options);

  const RedisStoreOptions options_;
  const std::unique_ptr<Client> client_;
  const WindowCommands commands_;
  WindowCache cache_;
  const uint64_t writer_id_;
  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

}  // namespace faultline::broker::redis

#endif  // FAULTLINE_BROKER_REDIS_REDIS_STORE_H_
