#include "broker/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/admin/stats_report.h"
#include "broker/net/tcp_listener.h"
#include "broker/redis/redis_store.h"
#include "broker/redis/store_url.h"
#include "broker/sources/memory_store_backend.h"
#include "broker/staging/staging_area.h"
#include "broker/staging/staging_sweep.h"
#include "proto/base/quote.h"
#include "proto/base/status_macros.h"

namespace faultline::broker {
namespace {

// The broker's memory, or a Redis server or cluster, connected now.
absl::StatusOr<std::unique_ptr<StoreBackend>> OpenStoreBackend(
    const BrokerOptions& options) {
  if (options.store_url.empty()) {
    return std::make_unique<MemoryStoreBackend>(options.store_limits);
  }
  redis::RedisStoreOptions redis_options;
  redis_options.limits = options.store_limits;
  redis_options.cache_bytes = options.store_cache_bytes;
  redis_options.ack_replicated = options.store_ack_replicated;
  auto named = [&options](const absl::Status& status) {
    return absl::Status(
        status.code(),
        absl::StrCat("--store=", options.store_url, ": ", status.message()));
  };
  absl::StatusOr<std::vector<redis::NodeAddress>> seeds =
      redis::ParseStoreUrl(options.store_url);
  if (!seeds.ok()) return named(seeds.status());
  redis_options.client.seeds = *std::move(seeds);
  absl::StatusOr<std::unique_ptr<redis::RedisStore>> store =
      redis::RedisStore::Connect(std::move(redis_options),
                                 absl::Now() + options.store_connect_timeout);
  if (!store.ok()) return named(store.status());
  return std::unique_ptr<StoreBackend>(*std::move(store));
}

}  // namespace

BrokerServer::BrokerServer(BrokerOptions options,
                           std::unique_ptr<StoreBackend> stores)
    : options_(std::move(options)),
      pools_(options_.device_memory_dir),
      stores_(std::move(stores)),
      registry_(
          pools_, *stores_,
          [&] {
            v1::Limits limits;
            limits.set_max_faults_in_flight(options_.max_faults_in_flight);
            limits.set_max_faults_per_second(options_.max_faults_per_second);
            limits.set_max_reasks_per_second(options_.max_reasks_per_second);
            return limits;
          }(),
          StagingOptions{options_.device_memory_dir, options_.staging_slots,
                         options_.fault_ring_spin},
          ImageOptions{options_.image_dir}),
      authorizer_(registry_, peers_, options_.vm_tokens, options_.admin_token),
      scheduler_(options_.worker_threads),
      processor_(scheduler_, injections_, watchers_, registry_.total()),
      fault_service_(registry_, processor_, injections_, authorizer_),
      admin_service_(registry_, pools_, *stores_, injections_, watchers_,
                     authorizer_) {}

absl::StatusOr<std::unique_ptr<BrokerServer>> BrokerServer::Start(
    BrokerOptions options) {
  if (options.tls_cert_path.empty() != options.tls_key_path.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together: give both or neither");
  }
  if (options.worker_threads < 1) {
    return absl::InvalidArgumentError("worker_threads must be at least 1");
  }
  if (options.staging_slots > kMaxStagingSlots) {
    return absl::InvalidArgumentError(
        absl::StrCat("--staging_slots is at most ", kMaxStagingSlots, ", not ",
                     options.staging_slots));
  }
  if (struct stat st;
      !options.image_dir.empty() &&
      (::stat(options.image_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--image_dir ", Quoted(options.image_dir), " is not a directory"));
  }
  RETURN_IF_ERROR(MakeDirectories(options.device_memory_dir));
  // Before any session can create an area of this broker's own.
  ASSIGN_OR_RETURN(const int swept,
                   SweepLeftoverStagingFiles(options.device_memory_dir));
  ASSIGN_OR_RETURN(std::unique_ptr<StoreBackend> stores,
                   OpenStoreBackend(options));
  std::unique_ptr<BrokerServer> server(
      new BrokerServer(std::move(options), std::move(stores)));
  server->swept_staging_files_ = swept;
  RETURN_IF_ERROR(server->Build());
  return server;
}

absl::Status BrokerServer::Build() {
  RETURN_IF_ERROR(PrepareSocketPath(options_.socket_path));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int tcp_port = 0;
  if (!options_.tcp_address.empty()) {
    RETURN_IF_ERROR(AddTcpPort(builder, options_.tcp_address,
                               options_.tls_cert_path, options_.tls_key_path,
                               &tcp_port));
  }
  builder.RegisterService(&fault_service_);
  builder.RegisterService(&admin_service_);
  // Page answers are 4 KiB plus prefetch; WriteFrames carries up to 64 MiB
  // (PutPages messages at most wire.h's kMaxPutPagesBytes, checked later).
  builder.SetMaxReceiveMessageSize(80 << 20);
  builder.SetMaxSendMessageSize(80 << 20);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "could not start the gRPC server",
        options_.tcp_address.empty() ? "" : " on tcp:", options_.tcp_address,
        " (address in use or not allowed?)"));
  }
  // The Unix socket is accepted here, not by gRPC, to learn each peer's
  // credentials (net/unix_listener.h).
  ASSIGN_OR_RETURN(
      unix_listener_,
      UnixSocketListener::Start(options_.socket_path, server_.get(), &peers_));
  if (!options_.tcp_address.empty()) {
    if (tcp_port == 0) {
      return absl::UnavailableError(
          absl::StrCat("could not listen on tcp:", options_.tcp_address));
    }
    bound_tcp_address_ = BoundTcpAddress(options_.tcp_address, tcp_port);
  }
  if (options_.reap_after > absl::ZeroDuration()) {
    // Four looks per grace period: a session goes within 1.25 of it.
    ReapEvery(std::clamp(options_.reap_after / 4, absl::Milliseconds(10),
                         absl::Seconds(5)));
  }
  if (!options_.metrics_address.empty()) {
    ASSIGN_OR_RETURN(metrics_,
                     MetricsHttpServer::Start(options_.metrics_address, [this] {
                       return RenderMetrics(registry_, pools_, watchers_);
                     }));
  }
  return absl::OkStatus();
}

void BrokerServer::ReapEvery(absl::Duration period) {
  // Its own queue: session serials start at 1.
  constexpr uint64_t kHousekeepingQueue = 0;
  scheduler_.SubmitAfter(kHousekeepingQueue, period,
                         [this, period](bool stopping) {
                           if (stopping) return;
                           fault_service_.ReapIdleSessions(options_.reap_after);
                           ReapEvery(period);
                         });
}

const std::string& BrokerServer::metrics_address() const {
  static const std::string* const kEmpty = new std::string;
  return metrics_ != nullptr ? metrics_->address() : *kEmpty;
}

std::string BrokerServer::ReadyLine() const {
  std::string line =
      absl::StrCat("broker: serving on unix:", options_.socket_path);
  if (!bound_tcp_address_.empty()) {
    absl::StrAppend(&line, " tcp:", bound_tcp_address_);
  }
  return line;
}

void BrokerServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (metrics_ != nullptr) metrics_->Stop();
  if (unix_listener_ != nullptr) unix_listener_->Stop();
  // Work still queued is answered retry INTERRUPTED on its stream, then the
  // streams and watchers end; idle calls are cancelled at the deadline.
  scheduler_.Stop();
  for (const auto& session : registry_.List()) {
    if (auto stream = session->stream()) {
      stream->Close(absl::UnavailableError("broker is shutting down"));
    }
  }
  admin_service_.CloseWatchers();
  // Store calls under way end within their deadline and finish their calls.
  admin_service_.StopStoreCalls();
  // Clients that keep an idle connection open hold Shutdown until this
  // deadline; every call the broker knows of was ended above already.
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(1));
  }
  ::unlink(options_.socket_path.c_str());
}

BrokerServer::~BrokerServer() { Shutdown(); }

}  // namespace faultline::broker
