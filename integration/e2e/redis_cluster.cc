// Runs a Redis Cluster for an end-to-end case until told to stop: starts
// MASTERS masters with REPLICAS replicas each on free 127.0.0.1 ports (each
// server in a folder below $TEST_TMPDIR or /tmp, append-only file on), writes
// the seed list "127.0.0.1:P1,127.0.0.1:P2,..." to SEEDS_FILE once every node
// says cluster_state:ok, then waits for SIGTERM or SIGINT and kills the
// servers. The servers die with it however it dies (PR_SET_PDEATHSIG).
//
// redis_cluster SEEDS_FILE [MASTERS [REPLICAS]]    (defaults 3 and 1)
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "broker/redis/testing/redis_servers.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr,
                 "usage: redis_cluster SEEDS_FILE [MASTERS [REPLICAS]]\n");
    return 2;
  }
  const int masters = argc > 2 ? std::atoi(argv[2]) : 3;
  const int replicas = argc > 3 ? std::atoi(argv[3]) : 1;
  if (masters < 1 || masters > 16 || replicas < 0 || replicas > 4) {
    std::fprintf(stderr, "redis_cluster: 1-16 masters and 0-4 replicas each\n");
    return 2;
  }
  // Blocked before any server starts, so only sigwait below takes them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  // Six servers under TCG on a busy machine start far slower than on a host.
  faultline::broker::redis::testing::ServerConfig config;
  config.patience = absl::Seconds(90);
  auto cluster = faultline::broker::redis::testing::RedisCluster::Start(
      masters, replicas, config);
  if (!cluster.ok()) {
    std::fprintf(stderr, "redis_cluster: %s\n",
                 std::string(cluster.status().message()).c_str());
    return 1;
  }
  const std::string seeds_file = argv[1];
  const std::string partial = seeds_file + ".partial";
  {
    std::ofstream out(partial, std::ios::trunc);
    out << (*cluster)->SeedList() << "\n";
    if (!out) {
      std::fprintf(stderr, "redis_cluster: cannot write %s\n", partial.c_str());
      return 1;
    }
  }
  // Whole or absent: a reader never sees half a list.
  if (std::rename(partial.c_str(), seeds_file.c_str()) != 0) {
    std::perror("redis_cluster: rename");
    return 1;
  }
  std::fprintf(stderr, "redis_cluster: serving %s\n",
               (*cluster)->SeedList().c_str());
  int signal_number = 0;
  while (sigwait(&stop, &signal_number) != 0) {
  }
  cluster->reset();  // SIGKILL by pid: SIGTERM of six servers takes seconds
  return 0;
}
