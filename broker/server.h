// The broker, top to bottom: registries, scheduler, services, the gRPC
// server on a Unix socket (and TCP when asked), health and reflection, and
// the metrics endpoint.
//
// Threading: Start() and Shutdown() from one controlling thread; the server
// serves on gRPC's threads, the scheduler's workers and the metrics thread.
#ifndef FAULTLINE_BROKER_SERVER_H_
#define FAULTLINE_BROKER_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/admin/admin_service.h"
#include "broker/data/fault_processor.h"
#include "broker/data/fault_service.h"
#include "broker/devmem/frame_pool_registry.h"
#include "broker/net/peer_credentials.h"
#include "broker/net/unix_listener.h"
#include "broker/observe/metrics_http.h"
#include "broker/observe/watch_hub.h"
#include "broker/policy/injection.h"
#include "broker/policy/read_throttle.h"
#include "broker/policy/scheduler.h"
#include "broker/session/authorization.h"
#include "broker/session/session_registry.h"
#include "broker/sources/store_backend.h"
#include "broker/staging/staging_counters.h"

namespace faultline::broker {

struct BrokerOptions {
  std::string socket_path = "/tmp/faultline/broker.sock";
  // "HOST:PORT"; empty: no TCP. Port 0 picks a free port.
  std::string tcp_address;
  std::string device_memory_dir = "/dev/shm";
  // VM name -> token for TCP attaches.
  std::map<std::string, std::string> vm_tokens;
  uint32_t max_faults_in_flight = 256;
  uint32_t max_faults_per_second = 0;
  // Re-asks of retried faults a session's stream is read for per second.
  uint32_t max_reasks_per_second = kDefaultMaxReasksPerSecond;
  // "HOST:PORT"; empty: no metrics endpoint. Port 0 picks a free port.
  std::string metrics_address;
  // PEM files; both or neither. TLS applies to TCP only.
  std::string tls_cert_path;
  std::string tls_key_path;
  int worker_threads = 4;
  // Slots of a staging area (in device_memory_dir) for a co-located VMM
  // that asks; 0 grants none.
  uint32_t staging_slots = 1024;
  // How long a fault ring's reader spins for the next request before it
  // sleeps on the doorbell. Spinning pays only with idle cores: on two busy
  // ones 50 us cost 6x in latency (BENCHMARKS.md).
  absl::Duration fault_ring_spin = absl::ZeroDuration();
  // The token admin calls over TCP must carry (wire::kAdminTokenKey);
  // empty: no admin calls over TCP.
  std::string admin_token;
  // A session with no stream and no session call for this long is
  // detached (its VMM died); zero: never.
  absl::Duration reap_after = absl::Seconds(60);
  // The directory TCP callers' image paths are relative to (and never
  // leave); empty: no image sources over TCP. Unix socket callers' images
  // open with their own uid's rights, wherever they are.
  std::string image_dir;
  // Where store pages live: empty for this broker's memory, or
  // "redis://HOST:PORT[,HOST:PORT...]", the seed nodes of a Redis Cluster
  // (or one standalone server) that many brokers may share.
  std::string store_url;
  // Redis only: the local cache of windows read, in bytes (0: none).
  uint64_t store_cache_bytes = uint64_t{256} << 20;
  // Redis only: a put is acknowledged once a replica has it (WAIT 1).
  bool store_ack_replicated = false;
  // Bytes per store, in all stores (0: no limit), and the largest offset.
  StoreLimits store_limits = {0, 0, uint64_t{1} << 40};
  // Redis only: how long connecting at start may take.
  absl::Duration store_connect_timeout = absl::Seconds(10);
};

class BrokerServer {
 public:
  static absl::StatusOr<std::unique_ptr<BrokerServer>> Start(
      BrokerOptions options);
  ~BrokerServer();

  BrokerServer(const BrokerServer&) = delete;
  BrokerServer& operator=(const BrokerServer&) = delete;

  // "broker: serving on unix:PATH[ tcp:HOST:PORT]".
  std::string ReadyLine() const;
  // The bound TCP and metrics addresses (resolved port), or empty.
  const std::string& tcp_address() const { return bound_tcp_address_; }
  const std::string& metrics_address() const;
  // Staging counters since start.
  const StagingTotals& staging_totals() { return registry_.staging_totals(); }
  // Where store pages live.
  StoreBackend& stores() { return *stores_; }
  // Staging files of killed brokers removed from device_memory_dir at start.
  int swept_staging_files() const { return swept_staging_files_; }

  // Answers faults in flight with retry INTERRUPTED, ends every stream and
  // stops serving within a few seconds. Idempotent.
  void Shutdown();

 private:
  BrokerServer(BrokerOptions options, std::unique_ptr<StoreBackend> stores);
  absl::Status Build();
  // Reaps idle sessions every `period` on the scheduler's timer, until the
  // scheduler stops.
  void ReapEvery(absl::Duration period);

  const BrokerOptions options_;
  FramePoolRegistry pools_;
  const std::unique_ptr<StoreBackend> stores_;
  PeerTable peers_;
  InjectionTable injections_;
  WatchHub watchers_;
  SessionRegistry registry_;
  const Authorizer authorizer_;
  FairScheduler scheduler_;
  FaultProcessor processor_;
  FaultService fault_service_;
  AdminService admin_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<UnixSocketListener> unix_listener_;
  std::unique_ptr<MetricsHttpServer> metrics_;
  std::string bound_tcp_address_;
  int swept_staging_files_ = 0;
  bool shut_down_ = false;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SERVER_H_
