// broker: the faultline fault broker daemon. Parses flags, starts the
// server, prints the ready line, and shuts down cleanly on SIGTERM/SIGINT.
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "broker/server.h"
#include "proto/base/secret_file.h"

ABSL_FLAG(std::string, socket, "/tmp/faultline/broker.sock",
          "Unix socket to serve on; its parent directory is created.");
ABSL_FLAG(std::string, tcp, "",
          "HOST:PORT to also serve on over TCP (off unless given). TCP "
          "attaches need a --vm_token for their VM.");
ABSL_FLAG(std::string, device_memory_dir, "/dev/shm",
          "Directory of device frame pool files faultline-<pool>.");
ABSL_FLAG(std::string, vm_token, "",
          "NAME=TOKEN: the token VM NAME must present to attach over TCP. "
          "Repeat the flag for more VMs.");
ABSL_FLAG(uint32_t, max_faults_in_flight, 256,
          "Per-session faults worked on at once; at the limit its Faults "
          "stream is not read until answers complete, and ResolveFault "
          "answers retry OVER_QUOTA (0 = no limit).");
ABSL_FLAG(uint32_t, max_faults_per_second, 0,
          "Per-session sustained fault rate (token bucket); 0 = no limit.");
ABSL_FLAG(uint32_t, max_reasks_per_second,
          faultline::broker::kDefaultMaxReasksPerSecond,
          "Per-session re-asks of retried faults (attempt > 1) its Faults "
          "stream is read for per second; more wait unread (0 = no limit).");
ABSL_FLAG(std::string, metrics, "",
          "HOST:PORT for a Prometheus text endpoint (off unless given).");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate for TLS on the TCP port (with --tls_key).");
ABSL_FLAG(std::string, tls_key, "",
          "PEM private key for TLS on the TCP port (with --tls_cert).");
ABSL_FLAG(uint32_t, staging_slots, 1024,
          "4 KiB slots of the staging area granted to a co-located VMM that "
          "asks for one (file faultline-staging-<session>@<pid> in "
          "--device_memory_dir); 0 = never grant, page bytes go inline.");
ABSL_FLAG(absl::Duration, fault_ring_spin, absl::ZeroDuration(),
          "How long a session's fault ring reader spins for the VMM's next "
          "request before it sleeps on the doorbell (0: never spins; spin "
          "only where cores are idle).");
ABSL_FLAG(int32_t, worker_threads, 4,
          "Threads that compute answers, shared fairly across sessions.");
ABSL_FLAG(absl::Duration, reap_after, absl::Seconds(60),
          "A session with no Faults stream and no call for this long is "
          "detached, its staging and private pool files removed (its VMM "
          "died); 0 = never.");
ABSL_FLAG(std::string, admin_token_file, "",
          "A file (mode 0600) holding the token admin calls over TCP must "
          "carry as \"faultline-admin-token\" metadata; without it there are "
          "no admin calls over TCP.");
ABSL_FLAG(std::string, image_dir, "",
          "Directory of the image files TCP clients may attach: their image "
          "paths are relative to it and may not leave it (no .., no "
          "symbolic links). Without it TCP clients attach no images. Unix "
          "socket clients' images open with their own uid's rights.");
ABSL_FLAG(std::string, store, "",
          "Where store pages live: redis://HOST:PORT[,HOST:PORT...] names the "
          "seed nodes of a Redis Cluster (or one standalone server) that many "
          "brokers may share; empty: this broker's memory.");
ABSL_FLAG(uint64_t, store_cache_mib, 256,
          "--store=redis://: MiB of store windows each broker keeps in its "
          "local cache (never served stale); 0 = no cache.");
ABSL_FLAG(bool, store_ack_replicated, false,
          "--store=redis://: acknowledge a put only once a replica of every "
          "master it touched has it (WAIT 1), so a failover loses no "
          "acknowledged page.");
ABSL_FLAG(uint64_t, store_max_mib, 0,
          "Largest size of one store, MiB of pages (0 = no limit).");
ABSL_FLAG(uint64_t, stores_max_mib, 0,
          "Largest size of all stores together, MiB of pages (0 = no limit; "
          "with Redis, what every broker put counts).");
ABSL_FLAG(uint64_t, store_max_offset_gib, 1024,
          "A put must end at or below this store offset, GiB.");
ABSL_FLAG(absl::Duration, store_connect_timeout, absl::Seconds(10),
          "--store=redis://: how long connecting at start may take.");

namespace {

// absl keeps only the last value of a repeated flag, so the --vm_token
// occurrences are collected from argv before absl parses it.
bool CollectVmTokens(int argc, char** argv,
                     std::map<std::string, std::string>* tokens) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    if (absl::StartsWith(arg, "--vm_token=")) {
      value = arg.substr(strlen("--vm_token="));
    } else if ((arg == "--vm_token" || arg == "-vm_token") && i + 1 < argc) {
      value = argv[++i];
    } else {
      continue;
    }
    const size_t equals = value.find('=');
    if (equals == std::string::npos || equals == 0 ||
        equals + 1 == value.size()) {
      std::cerr << "broker: --vm_token=\"" << value
                << "\" must be NAME=TOKEN with both parts non-empty\n";
      return false;
    }
    (*tokens)[value.substr(0, equals)] = value.substr(equals + 1);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage_config;
  // --help lists this file's flags (absl matches on the program name).
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "broker/main.cc");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(
      "faultline fault broker: answers guest memory faults for VMMs.\n"
      "  broker [--socket=PATH] [--tcp=HOST:PORT --vm_token=NAME=TOKEN ...]\n"
      "         [--device_memory_dir=DIR] [--max_faults_in_flight=N]\n"
      "         [--max_faults_per_second=N] [--max_reasks_per_second=N]\n"
      "         [--metrics=HOST:PORT]\n"
      "         [--tls_cert=PEM --tls_key=PEM] [--staging_slots=N]\n"
      "         [--admin_token_file=PATH] [--reap_after=DURATION]\n"
      "         [--image_dir=DIR]\n"
      "         [--store=redis://HOST:PORT[,...] [--store_cache_mib=N]\n"
      "          [--store_ack_replicated]] [--store_max_mib=N]\n"
      "         [--stores_max_mib=N] [--store_max_offset_gib=N]\n"
      "Prints \"broker: serving on unix:PATH[ tcp:HOST:PORT]\" when ready; "
      "SIGTERM or SIGINT stops it cleanly.");
  std::map<std::string, std::string> vm_tokens;
  if (!CollectVmTokens(argc, argv, &vm_tokens)) return 2;
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::cerr << "broker: unexpected argument \"" << positional[1]
              << "\"; see --help\n";
    return 2;
  }

  // Blocked before any thread starts, so every thread inherits the mask and
  // the signals are only ever taken by sigwait below: no handler runs.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  faultline::broker::BrokerOptions options;
  options.socket_path = absl::GetFlag(FLAGS_socket);
  options.tcp_address = absl::GetFlag(FLAGS_tcp);
  options.device_memory_dir = absl::GetFlag(FLAGS_device_memory_dir);
  options.vm_tokens = std::move(vm_tokens);
  options.max_faults_in_flight = absl::GetFlag(FLAGS_max_faults_in_flight);
  options.max_faults_per_second = absl::GetFlag(FLAGS_max_faults_per_second);
  options.max_reasks_per_second = absl::GetFlag(FLAGS_max_reasks_per_second);
  options.metrics_address = absl::GetFlag(FLAGS_metrics);
  options.tls_cert_path = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_path = absl::GetFlag(FLAGS_tls_key);
  options.worker_threads = absl::GetFlag(FLAGS_worker_threads);
  options.staging_slots = absl::GetFlag(FLAGS_staging_slots);
  options.fault_ring_spin = absl::GetFlag(FLAGS_fault_ring_spin);
  options.reap_after = absl::GetFlag(FLAGS_reap_after);
  options.image_dir = absl::GetFlag(FLAGS_image_dir);
  if (const std::string path = absl::GetFlag(FLAGS_admin_token_file);
      !path.empty()) {
    absl::StatusOr<std::string> token = faultline::ReadSecretFile(path);
    if (!token.ok()) {
      std::cerr << "broker: --admin_token_file: " << token.status().message()
                << "\n";
      return 2;
    }
    options.admin_token = *std::move(token);
  }
  options.store_url = absl::GetFlag(FLAGS_store);
  options.store_ack_replicated = absl::GetFlag(FLAGS_store_ack_replicated);
  options.store_connect_timeout = absl::GetFlag(FLAGS_store_connect_timeout);
  // Sizes are given in MiB/GiB; more than 2^44 MiB would not fit in bytes.
  for (const auto& [name, value, shift, out] :
       {std::tuple("store_cache_mib", absl::GetFlag(FLAGS_store_cache_mib), 20,
                   &options.store_cache_bytes),
        std::tuple("store_max_mib", absl::GetFlag(FLAGS_store_max_mib), 20,
                   &options.store_limits.store_bytes),
        std::tuple("stores_max_mib", absl::GetFlag(FLAGS_stores_max_mib), 20,
                   &options.store_limits.total_bytes),
        std::tuple("store_max_offset_gib",
                   absl::GetFlag(FLAGS_store_max_offset_gib), 30,
                   &options.store_limits.extent_bytes)}) {
    if (value > (~uint64_t{0} >> shift)) {
      std::cerr << "broker: --" << name << "=" << value << " is too large\n";
      return 1;
    }
    *out = value << shift;
  }

  auto server = faultline::broker::BrokerServer::Start(std::move(options));
  if (!server.ok()) {
    std::cerr << "broker: " << server.status().message() << "\n";
    return 1;
  }
  std::cerr << "broker: staging files left by stopped brokers in "
            << absl::GetFlag(FLAGS_device_memory_dir) << ": "
            << (*server)->swept_staging_files() << " swept\n";
  std::cout << (*server)->ReadyLine() << std::endl;
  if (!(*server)->metrics_address().empty()) {
    std::cerr << "broker: metrics on http://" << (*server)->metrics_address()
              << "/metrics\n";
  }

  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  std::cerr << "broker: " << strsignal(signal_number) << ", shutting down\n";
  (*server)->Shutdown();
  return 0;
}
