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
#include "broker/redis/testing/server_processes.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"
#include "proto/base/unique_fd.h"

namespace faultline::broker::redis::testing {

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

}  // namespace faultline::broker::redis::testing
