#include "broker/redis/testing/redis_servers.h"

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
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"
#include "proto/base/unique_fd.h"

namespace faultline::broker::redis::testing {
namespace {

// The first of `names` found in /usr/bin, /usr/local/bin or $PATH.
std::string FindProgram(const std::string& name) {
  std::vector<std::string> dirs = {"/usr/bin", "/usr/local/bin"};
  if (const char* path = getenv("PATH")) {
    for (absl::string_view dir : absl::StrSplit(path, ':')) {
      dirs.emplace_back(dir);
    }
  }
  for (const std::string& dir : dirs) {
    const std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;
}

// Starts `argv` with stdout and stderr into `log`; dies with this thread.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv,
                            const std::string& log) {
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  UniqueFd out(
      open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!out) return ErrnoError(absl::StrCat("open ", log));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return ErrnoError("fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out.get(), 1);
    dup2(out.get(), 2);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

bool PortFree(int port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  return bind(fd.get(), reinterpret_cast<sockaddr*>(&address),
              sizeof(address)) == 0;
}

// A port in [20000, 50000) that is free now, with port + 10000 free too.
int PickPort() {
  static std::mt19937 random(std::random_device{}() ^ getpid());
  std::uniform_int_distribution<int> ports(20000, 49999);
  for (;;) {
    const int port = ports(random);
    if (PortFree(port) && PortFree(port + 10000)) return port;
  }
}

// "key:value" lines of INFO or CLUSTER INFO.
std::string InfoField(const std::string& info, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(info, "\r\n")) {
    if (absl::StartsWith(line, key) && line.size() > key.size() &&
        line[key.size()] == ':') {
      return std::string(line.substr(key.size() + 1));
    }
  }
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<TempDir>> TempDir::Make(const std::string& tag) {
  const char* base = getenv("TEST_TMPDIR");
  std::string pattern =
      absl::StrCat(base != nullptr ? base : "/tmp", "/", tag, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return ErrnoError(absl::StrCat("mkdtemp ", pattern));
  }
  return std::unique_ptr<TempDir>(new TempDir(pattern));
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(
    const std::string& parent, const ServerConfig& config) {
  absl::Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const int port = PickPort();
    const std::string dir = absl::StrCat(parent, "/", port);
    std::filesystem::create_directories(dir);
    std::unique_ptr<RedisServer> server(new RedisServer(dir, port, config));
    last = server->Spawn();
    if (last.ok()) return server;
    // Someone took the port between the check and the bind: another one.
  }
  return last;
}

RedisServer::~RedisServer() { Kill(); }

absl::Status RedisServer::Spawn() {
  std::vector<std::string> argv = {
      FindProgram("redis-server"),
      "--port",
      absl::StrCat(port_),
      "--bind",
      "127.0.0.1",
      "--protected-mode",
      "no",
      "--daemonize",
      "no",
      "--dir",
      dir_,
      "--logfile",
      "redis.log",
      "--save",
      "",
      "--appendonly",
      config_.append_only ? "yes" : "no",
      "--appendfsync",
      "everysec",
  };
  if (config_.cluster) {
    for (std::string arg :
         {std::string("--cluster-enabled"), std::string("yes"),
          std::string("--cluster-config-file"), std::string("nodes.conf"),
          std::string("--cluster-node-timeout"),
          absl::StrCat(config_.node_timeout_ms),
          std::string("--cluster-require-full-coverage"),
          std::string(config_.require_full_coverage ? "yes" : "no")}) {
      argv.push_back(arg);
    }
  }
  ASSIGN_OR_RETURN(pid_, testing::Spawn(argv, dir_ + "/stdout.log"));
  const absl::Time deadline = absl::Now() + config_.patience;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(
          absl::StrCat("redis-server on port ", port_, " exited: ", LogTail()));
    }
    absl::StatusOr<Reply> pong = Command({"PING"}, absl::Milliseconds(500));
    if (pong.ok() && pong->str == "PONG") return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(20));
  }
  Kill();
  return absl::DeadlineExceededError(absl::StrCat(
      "redis-server on port ", port_, " did not answer PING: ", LogTail()));
}

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

absl::Status RedisServer::Restart() {
  Kill();
  return Spawn();
}

absl::StatusOr<Reply> RedisServer::Command(std::vector<std::string> args,
                                           absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                   Connection::Open(address(), deadline));
  return Call(*connection, args, deadline);
}

std::string RedisServer::LogTail() const {
  std::ifstream log(dir_ + "/redis.log");
  std::vector<std::string> lines;
  for (std::string line; std::getline(log, line);) lines.push_back(line);
  const size_t from = lines.size() > 8 ? lines.size() - 8 : 0;
  return absl::StrJoin(lines.begin() + from, lines.end(), " | ");
}

absl::StatusOr<std::unique_ptr<StandaloneRedis>> StandaloneRedis::Start(
    ServerConfig config) {
  auto redis = std::make_unique<StandaloneRedis>();
  ASSIGN_OR_RETURN(redis->dir, TempDir::Make("redis"));
  config.cluster = false;
  ASSIGN_OR_RETURN(redis->server,
                   RedisServer::Start(redis->dir->path(), config));
  return redis;
}

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
