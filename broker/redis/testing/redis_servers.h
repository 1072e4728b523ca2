// Real Redis servers for tests and benchmarks: redis-server processes on
// 127.0.0.1 ports nobody else holds (so parallel runs never collide), each in
// its own folder under a fresh temporary directory, append-only file on, and
// stopped with SIGKILL by PID (SIGTERM of six servers takes seconds). Either
// one standalone server, or a cluster of masters with replicas made by
// `redis-cli --cluster create`.
//
// Not thread-safe. Start, Kill and Restart servers from the thread that owns
// the object: each server gets PR_SET_PDEATHSIG, which fires when the thread
// that started it ends, so a crashed test leaves no server behind.
#ifndef FAULTLINE_BROKER_REDIS_TESTING_REDIS_SERVERS_H_
#define FAULTLINE_BROKER_REDIS_TESTING_REDIS_SERVERS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/redis/reply.h"
#include "broker/redis/slot_map.h"

namespace faultline::broker::redis::testing {

// A fresh folder under $TEST_TMPDIR (or /tmp), removed with what it holds.
class TempDir {
 public:
  static absl::StatusOr<std::unique_ptr<TempDir>> Make(const std::string& tag);
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

struct ServerConfig {
  bool cluster = false;
  bool append_only = true;
  int node_timeout_ms = 5000;
  // "no" keeps the other masters' slots serving while one is down.
  bool require_full_coverage = false;
  // How long a new server may take to answer PING; each cluster setup step
  // (create, healthy) may take three times that. Longer in a TCG test host.
  absl::Duration patience = absl::Seconds(20);
};

class RedisServer {
 public:
  // In a new folder below `parent`, on a free port (and port + 10000 free
  // too, for the cluster bus). Waits until it answers PING.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(
      const std::string& parent, const ServerConfig& config);
  ~RedisServer();

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  NodeAddress address() const { return NodeAddress{"127.0.0.1", port_}; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  const std::string& dir() const { return dir_; }

  // SIGKILL, then reaps it.
  void Kill();
  // Starts it again on the same port and folder, from its append-only file
  // and nodes.conf, and waits until it answers PING.
  absl::Status Restart();
  // One command on a connection of its own.
  absl::StatusOr<Reply> Command(std::vector<std::string> args,
                                absl::Duration timeout = absl::Seconds(10));
  // The last lines of its log, for failure messages.
  std::string LogTail() const;

 private:
  RedisServer(std::string dir, int port, ServerConfig config)
      : dir_(std::move(dir)), port_(port), config_(config) {}
  absl::Status Spawn();

  const std::string dir_;
  const int port_;
  const ServerConfig config_;
  pid_t pid_ = -1;
};

class RedisCluster {
 public:
  // `masters` masters with `replicas` replicas each; returns when every node
  // says cluster_state:ok and every replica is linked to its master.
  static absl::StatusOr<std::unique_ptr<RedisCluster>> Start(
      int masters, int replicas, ServerConfig config = ServerConfig());
  ~RedisCluster();

  const std::vector<std::unique_ptr<RedisServer>>& servers() const {
    return servers_;
  }
  std::vector<NodeAddress> Seeds() const;
  // "127.0.0.1:P1,127.0.0.1:P2,..." as --store=redis://... takes it.
  std::string SeedList() const;
  // The running server that is master of `slot` now.
  absl::StatusOr<RedisServer*> MasterOf(int slot);
  // Until every running server says cluster_state:ok, every slot is served
  // by a running master, and every running replica is linked.
  absl::Status WaitHealthy(absl::Duration timeout);
  void KillAll();
  absl::Status RestartAll();

  // A live slot migration in its three steps, as redis-cli --cluster
  // reshard does it: mark `slot` migrating from its master to `target`
  // (another master; a running one is picked when null), move the keys
  // given, then give the slot to the target on every master.
  absl::StatusOr<RedisServer*> BeginSlotMigration(
      int slot, RedisServer* target = nullptr);
  absl::Status MigrateKeys(int slot, const std::vector<std::string>& keys);
  // Moves the keys still left in the slot, then gives it to the target.
  absl::Status FinishSlotMigration(int slot);

 private:
  explicit RedisCluster(std::unique_ptr<TempDir> dir) : dir_(std::move(dir)) {}
  absl::Status CheckHealthy();

  struct Migration {
    RedisServer* source = nullptr;
    RedisServer* target = nullptr;
    std::string target_id;
  };

  std::unique_ptr<TempDir> dir_;
  std::vector<std::unique_ptr<RedisServer>> servers_;
  std::map<int, Migration> migrations_;
};

// A standalone server with its own temporary directory.
struct StandaloneRedis {
  static absl::StatusOr<std::unique_ptr<StandaloneRedis>> Start(
      ServerConfig config = ServerConfig());
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<RedisServer> server;
};

}  // namespace faultline::broker::redis::testing

#endif  // FAULTLINE_BROKER_REDIS_TESTING_REDIS_SERVERS_H_
