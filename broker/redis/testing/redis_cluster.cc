#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "broker/redis/connection.h"
#include "broker/redis/testing/redis_servers.h"
#include "broker/redis/testing/server_processes.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"
#include "proto/base/unique_fd.h"

namespace faultline::broker::redis::testing {

absl::StatusOr<std::unique_ptr<RedisCluster>> RedisCluster::Start(
    int masters, int replicas, ServerConfig config) {
  ASSIGN_OR_RETURN(std::unique_ptr<TempDir> dir,
                   TempDir::Make("redis-cluster"));
  std::unique_ptr<RedisCluster> cluster(new RedisCluster(std::move(dir)));
  config.cluster = true;
  for (int i = 0; i < masters * (1 + replicas); ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<RedisServer> server,
                     RedisServer::Start(cluster->dir_->path(), config));
    cluster->servers_.push_back(std::move(server));
  }
  std::vector<std::string> argv = {FindProgram("redis-cli"), "--cluster",
                                   "create"};
  for (const NodeAddress& node : cluster->Seeds()) {
    argv.push_back(node.ToString());
  }
  argv.insert(argv.end(),
              {"--cluster-replicas", absl::StrCat(replicas), "--cluster-yes"});
  const std::string log = cluster->dir_->path() + "/create.log";
  ASSIGN_OR_RETURN(pid_t cli, Spawn(argv, log));
  const absl::Time deadline = absl::Now() + 3 * config.patience;
  int status = 0;
  while (waitpid(cli, &status, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      kill(cli, SIGKILL);
      waitpid(cli, &status, 0);
      return absl::DeadlineExceededError("redis-cli --cluster create hung");
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    return absl::InternalError(
        absl::StrCat("redis-cli --cluster create failed: ", text.str()));
  }
  RETURN_IF_ERROR(cluster->WaitHealthy(3 * config.patience));
  return cluster;
}

RedisCluster::~RedisCluster() { KillAll(); }

std::vector<NodeAddress> RedisCluster::Seeds() const {
  std::vector<NodeAddress> seeds;
  for (const auto& server : servers_) seeds.push_back(server->address());
  return seeds;
}

std::string RedisCluster::SeedList() const {
  return absl::StrJoin(Seeds(), ",",
                       [](std::string* out, const NodeAddress& n) {
                         out->append(n.ToString());
                       });
}

absl::StatusOr<RedisServer*> RedisCluster::MasterOf(int slot) {
  absl::Status last = absl::UnavailableError("no server is running");
  for (const auto& server : servers_) {
    if (!server->running()) continue;
    absl::StatusOr<Reply> slots = server->Command({"CLUSTER", "SLOTS"});
    if (!slots.ok()) {
      last = slots.status();
      continue;
    }
    ASSIGN_OR_RETURN(SlotMap map,
                     SlotMap::FromClusterSlots(*slots, server->address()));
    const NodeAddress* master = map.MasterOf(slot);
    for (const auto& candidate : servers_) {
      if (master != nullptr && candidate->address() == *master) {
        return candidate.get();
      }
    }
    last = absl::NotFoundError(absl::StrCat("no master for slot ", slot));
  }
  return last;
}

absl::Status RedisCluster::CheckHealthy() {
  for (const auto& server : servers_) {
    if (!server->running()) continue;
    ASSIGN_OR_RETURN(Reply info, server->Command({"CLUSTER", "INFO"}));
    if (InfoField(info.str, "cluster_state") != "ok") {
      return absl::UnavailableError(
          absl::StrCat(server->port(), ": cluster_state is not ok"));
    }
    ASSIGN_OR_RETURN(Reply slots, server->Command({"CLUSTER", "SLOTS"}));
    ASSIGN_OR_RETURN(SlotMap map,
                     SlotMap::FromClusterSlots(slots, server->address()));
    if (map.covered_slots() != kSlotCount) {
      return absl::UnavailableError(absl::StrCat(
          server->port(), " sees ", map.covered_slots(), " slots covered"));
    }
    for (const NodeAddress& master : map.Masters()) {
      bool alive = false;
      for (const auto& s : servers_) {
        alive = alive || (s->running() && s->address() == master);
      }
      if (!alive) {
        return absl::UnavailableError(absl::StrCat(
            server->port(), " still routes slots to ", master.ToString()));
      }
    }
    ASSIGN_OR_RETURN(Reply replication,
                     server->Command({"INFO", "replication"}));
    if (InfoField(replication.str, "role") == "slave" &&
        InfoField(replication.str, "master_link_status") != "up") {
      return absl::UnavailableError(
          absl::StrCat(server->port(), ": replica not linked yet"));
    }
  }
  return absl::OkStatus();
}

absl::Status RedisCluster::WaitHealthy(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status status;
  while (!(status = CheckHealthy()).ok()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("cluster not healthy in time: ", status.message()));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::OkStatus();
}

void RedisCluster::KillAll() {
  for (const auto& server : servers_) server->Kill();
}

absl::Status RedisCluster::RestartAll() {
  KillAll();
  for (const auto& server : servers_) RETURN_IF_ERROR(server->Restart());
  return WaitHealthy(absl::Seconds(60));
}

absl::StatusOr<RedisServer*> RedisCluster::BeginSlotMigration(
    int slot, RedisServer* target) {
  Migration migration;
  ASSIGN_OR_RETURN(migration.source, MasterOf(slot));
  for (int other = 0; target == nullptr && other < kSlotCount; other += 500) {
    absl::StatusOr<RedisServer*> master = MasterOf(other);
    if (master.ok() && *master != migration.source) target = *master;
  }
  if (target == nullptr || target == migration.source) {
    return absl::FailedPreconditionError("no other master to migrate to");
  }
  migration.target = target;
  ASSIGN_OR_RETURN(Reply source_id,
                   migration.source->Command({"CLUSTER", "MYID"}));
  ASSIGN_OR_RETURN(Reply target_id, target->Command({"CLUSTER", "MYID"}));
  migration.target_id = target_id.str;
  const std::string slot_text = absl::StrCat(slot);
  for (auto [server, args] :
       {std::pair{target,
                  std::vector<std::string>{"CLUSTER", "SETSLOT", slot_text,
                                           "IMPORTING", source_id.str}},
        std::pair{migration.source,
                  std::vector<std::string>{"CLUSTER", "SETSLOT", slot_text,
                                           "MIGRATING", target_id.str}}}) {
    ASSIGN_OR_RETURN(Reply done, server->Command(args));
    if (done.is_error()) return absl::InternalError(done.str);
  }
  migrations_[slot] = migration;
  return target;
}

absl::Status RedisCluster::MigrateKeys(int slot,
                                       const std::vector<std::string>& keys) {
  auto it = migrations_.find(slot);
  if (it == migrations_.end()) {
    return absl::FailedPreconditionError("no migration of that slot begun");
  }
  for (const std::string& key : keys) {
    ASSIGN_OR_RETURN(Reply moved, it->second.source->Command(
                                      {"MIGRATE", "127.0.0.1",
                                       absl::StrCat(it->second.target->port()),
                                       key, "0", "5000"}));
    if (moved.is_error()) {
      return absl::InternalError(
          absl::StrCat("MIGRATE ", key, ": ", moved.str));
    }
  }
  return absl::OkStatus();
}

absl::Status RedisCluster::FinishSlotMigration(int slot) {
  auto it = migrations_.find(slot);
  if (it == migrations_.end()) {
    return absl::FailedPreconditionError("no migration of that slot begun");
  }
  const std::string slot_text = absl::StrCat(slot);
  ASSIGN_OR_RETURN(Reply left,
                   it->second.source->Command(
                       {"CLUSTER", "GETKEYSINSLOT", slot_text, "100000"}));
  std::vector<std::string> keys;
  for (const Reply& key : left.elements) keys.push_back(key.str);
  RETURN_IF_ERROR(MigrateKeys(slot, keys));
  for (const auto& server : servers_) {
    if (!server->running()) continue;
    ASSIGN_OR_RETURN(Reply role, server->Command({"ROLE"}));
    if (role.elements.empty() || role.elements[0].str != "master") continue;
    ASSIGN_OR_RETURN(Reply done,
                     server->Command({"CLUSTER", "SETSLOT", slot_text, "NODE",
                                      it->second.target_id}));
    if (done.is_error()) return absl::InternalError(done.str);
  }
  migrations_.erase(it);
  return absl::OkStatus();
}

}  // namespace faultline::broker::redis::testing
