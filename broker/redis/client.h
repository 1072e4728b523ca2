// A client for a Redis Cluster, or for one standalone server: commands are
// routed by their key's slot, MOVED updates the slot map, ASK is followed
// (ASKING first) without touching it, TRYAGAIN, CLUSTERDOWN, LOADING and
// MASTERDOWN are retried with bounded backoff, and a batch is sent to every
// master it touches before any reply is awaited. Every call has a deadline
// and nothing waits past it.
//
// Thread-safe: any thread may call any method at once. Each calling thread
// has its own connection to each node (opened on first use, kept until the
// client is destroyed), so threads never wait for each other's replies.
#ifndef FAULTLINE_BROKER_REDIS_CLIENT_H_
#define FAULTLINE_BROKER_REDIS_CLIENT_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "broker/redis/connection.h"
#include "broker/redis/reply.h"
#include "broker/redis/slot_map.h"

namespace faultline::broker::redis {

struct ClientOptions {
  // Where to ask for the slot map first: cluster nodes or one standalone
  // server, numeric addresses.
  std::vector<NodeAddress> seeds;
  absl::Duration connect_timeout = absl::Milliseconds(250);
  // After a node refused (or timed out) a connection, calls routed to it fail
  // at once, with that reason, for this long: a fault on a dead master's slot
  // answers in microseconds instead of each waiting for a connect.
  absl::Duration down_memo = absl::Milliseconds(100);
  // CLUSTER SLOTS is asked at most this often, however many calls fail.
  absl::Duration min_refresh_interval = absl::Milliseconds(50);
  // Sends of one command (redirects and retries included).
  int max_attempts = 16;
  absl::Duration first_backoff = absl::Milliseconds(1);
  absl::Duration max_backoff = absl::Milliseconds(50);
};

struct Command {
  std::vector<std::string> args;
  // args[key_index] is the key that routes the command; -1 for a keyless
  // command, which goes to the first master.
  int key_index = 1;
  // Safe to send again when a connection broke after it was sent and its
  // outcome is unknown (a read, or a write of the same bytes).
  bool idempotent = true;
  // Return a TRYAGAIN reply instead of retrying it (the caller falls back,
  // as MGet does to single GETs on a half-migrated slot).
  bool tryagain_is_final = false;
  // When not empty, `args` is unused and these steps go as one transaction,
  // MULTI, the steps, EXEC, to the node of transaction[0][key_index] (every
  // key in one slot). Its reply is EXEC's array, or the first error a step
  // was refused with, which is handled as for a single command (MOVED, ASK,
  // TRYAGAIN, ...).
  std::vector<std::vector<std::string>> transaction = {};

  const std::vector<std::string>& routing_args() const {
    return transaction.empty() ? args : transaction[0];
  }
};

// A command for one node in particular (INFO, SCAN, WAIT, CLUSTER ...).
struct NodeCommand {
  NodeAddress node;
  std::vector<std::string> args;
};

struct CallOptions {
  absl::Time deadline = absl::InfiniteFuture();
  // Keep retrying a down master's slots until the deadline (for writes that
  // would rather wait out a failover); otherwise they fail at once.
  bool ride_out_failover = false;
};

struct Result {
  // Transport failures only (UNAVAILABLE or DEADLINE_EXCEEDED, naming the
  // node and why); an error the server sent is a Reply of type kError.
  absl::StatusOr<Reply> reply;
  NodeAddress node;  // the node that answered, or was last tried
};

class Client {
 public:
  // Asks the seeds for the slot map (a server without cluster support is a
  // standalone server). UNAVAILABLE when no seed answers by `deadline`.
  static absl::StatusOr<std::unique_ptr<Client>> Connect(ClientOptions options,
                                                         absl::Time deadline);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool cluster() const { return !slot_map()->standalone(); }
  // "redis cluster 127.0.0.1:7000,... (3 masters)" or "redis 127.0.0.1:6379".
  std::string Describe() const;

  Result Execute(const Command& command, const CallOptions& options);
  // Replies in the order of `commands`.
  std::vector<Result> ExecuteBatch(absl::Span<const Command> commands,
                                   const CallOptions& options);
  // Each command on its node, no routing or redirects, all sent before any
  // reply is awaited; replies in the order of `commands`. WAIT counts the
  // writes this thread made on that node, since the connection is its own.
  std::vector<Result> ExecuteOn(absl::Span<const NodeCommand> commands,
                                const CallOptions& options);
  Result ExecuteOn(const NodeAddress& node, std::vector<std::string> args,
                   const CallOptions& options);
  // One reply per key, a string or nil: one MGET per slot, sent together,
  // and single GETs for a slot whose keys are half migrated (TRYAGAIN).
  std::vector<Result> MGet(absl::Span<const std::string> keys,
                           const CallOptions& options);

  std::shared_ptr<const SlotMap> slot_map() const ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<NodeAddress> Masters() const { return slot_map()->Masters(); }
  // Asks for the slot map now, rate limit or not.
  absl::Status RefreshSlotMap(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);
  // How many times the slot map changed (redirects, refreshes) since start.
  uint64_t map_changes() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // One thread's connections, used by that thread only.
  struct ThreadConnections {
    std::map<NodeAddress, std::unique_ptr<Connection>> by_node;
  };
  struct Down {
    absl::Time until;
    absl::Status why;
  };
  struct Task;

  explicit Client(ClientOptions options);

  ThreadConnections& ForThisThread() ABSL_LOCKS_EXCLUDED(mu_);
  // This thread's connection to `node`, opened if need be; fails at once
  // while the node is remembered as down.
  absl::StatusOr<Connection*> ConnectionTo(ThreadConnections& connections,
                                           const NodeAddress& node,
                                           absl::Time deadline)
      ABSL_LOCKS_EXCLUDED(mu_);
  bool IsDown(const NodeAddress& node) const ABSL_LOCKS_EXCLUDED(mu_);
  // Asks the known nodes, then the seeds, for CLUSTER SLOTS; at most once
  // per min_refresh_interval unless `force`.
  absl::Status Refresh(ThreadConnections& connections, absl::Time deadline,
                       bool force) ABSL_LOCKS_EXCLUDED(mu_);
  void InstallMap(SlotMap map) ABSL_LOCKS_EXCLUDED(mu_);
  void NoteMoved(int slot, const NodeAddress& node) ABSL_LOCKS_EXCLUDED(mu_);

  const ClientOptions options_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const SlotMap> map_ ABSL_GUARDED_BY(mu_);
  uint64_t map_changes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_refresh_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::map<NodeAddress, Down> down_ ABSL_GUARDED_BY(mu_);
  std::map<std::thread::id, std::unique_ptr<ThreadConnections>> threads_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace faultline::broker::redis

#endif  // FAULTLINE_BROKER_REDIS_CLIENT_H_
