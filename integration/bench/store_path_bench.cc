// The page store on the host fault path: the same workload as
// fault_path_bench (threads touching userfaultfd-registered memory, served
// by the VMM's own FaultEngine over the broker binary's Unix socket, staging
// on), its RAM a store source holding the pattern, with the store in the
// broker's memory, on a standalone Redis server and on a 3+3 Redis Cluster
// (both started here, append-only file on). Each configuration reads a
// freshly filled store twice: cold (nothing in the broker's cache), then
// warm; with and without a 16-page prefetch window. The in-process limit
// runs in the same process. Prints a Markdown table and the goals' verdicts.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "broker/redis/testing/pattern_pages.h"
#include "broker/redis/testing/redis_servers.h"
#include "integration/bench/bench_files.h"
#include "integration/bench/broker_child.h"
#include "integration/bench/broker_client.h"
#include "integration/bench/fault_path_run.h"
#include "integration/bench/first_touch.h"
#include "integration/bench/store_path_report.h"
#include "proto/base/grpc_status.h"
#include "proto/faultline/v1/wire.h"

ABSL_FLAG(std::string, broker_binary, "",
          "//broker:broker; found in the runfiles when empty");
ABSL_FLAG(int, region_mib, 32, "guest memory (and store size) per run, MiB");
ABSL_FLAG(int, region_kib, 0, "if set, overrides --region_mib (smoke tests)");
ABSL_FLAG(std::vector<std::string>, stores,
          std::vector<std::string>({"memory", "standalone", "cluster"}),
          "store backends: memory, standalone (one Redis server), cluster "
          "(3 masters + 3 replicas)");
ABSL_FLAG(int, prefetch, 15, "prefetch hint of the prefetch runs (window - 1)");
ABSL_FLAG(int, threads, 1, "toucher threads (1: one fault at a time)");
ABSL_FLAG(int, repetitions, 3,
          "runs per configuration; the one with the median pages/s counts");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(120),
          "longest one run may take");
ABSL_FLAG(std::string, csv, "", "also write the results as CSV here");
ABSL_FLAG(std::string, markdown, "", "also write the table here");

namespace faultline::bench {
namespace {

using broker::redis::testing::PatternPages;
using broker::redis::testing::RedisCluster;
using broker::redis::testing::StandaloneRedis;
using v1::wire::kPageBytes;

constexpr absl::Duration kCallTimeout = absl::Seconds(60);

// A backend and the broker serving from it.
struct StoreUnderTest {
  std::string label;
  std::unique_ptr<StandaloneRedis> standalone;
  std::unique_ptr<RedisCluster> cluster;
  std::string directory;
  std::unique_ptr<BrokerChild> broker;
};

absl::StatusOr<StoreUnderTest> StartStore(const std::string& kind,
                                          const std::string& binary) {
  StoreUnderTest store;
  std::vector<std::string> args;
  if (kind == "memory") {
    store.label = "memory";
  } else if (kind == "standalone") {
    store.label = "redis standalone";
    auto redis = StandaloneRedis::Start();
    if (!redis.ok()) return redis.status();
    store.standalone = *std::move(redis);
    args.push_back("--store=redis://" +
                   store.standalone->server->address().ToString());
  } else if (kind == "cluster") {
    store.label = "redis cluster";
    auto cluster = RedisCluster::Start(3, 1);
    if (!cluster.ok()) return cluster.status();
    store.cluster = *std::move(cluster);
    args.push_back("--store=redis://" + store.cluster->SeedList());
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown store '", kind, "'"));
  }
  auto directory = MakeShortTempDir();
  if (!directory.ok()) return directory.status();
  store.directory = *directory;
  BrokerChildOptions options;
  options.binary = binary;
  options.directory = *directory;
  options.tcp_vm_name = "bench-tcp";
  options.tcp_vm_token = "bench-token";
  auto broker = BrokerChild::Start(std::move(options), std::move(args));
  if (!broker.ok()) return broker.status();
  store.broker = *std::move(broker);
  return store;
}

// Fills `name` with the pattern the benchmark region must hold.
absl::Status Fill(const std::string& target, const std::string& name,
                  uint64_t bytes) {
  auto admin = v1::BrokerAdmin::NewStub(MakeChannel(target));
  grpc::ClientContext context;
  SetDeadline(&context, kCallTimeout);
  v1::PutPagesResponse response;
  auto writer = admin->PutPages(&context, &response);
  const uint64_t first_frame = kBenchRamBase / kPageBytes;
  const uint64_t per_message = v1::wire::kMaxPutPagesBytes / kPageBytes;
  for (uint64_t page = 0; page < bytes / kPageBytes; page += per_message) {
    v1::PutPagesRequest request;
    request.set_store(name);
    request.set_offset(page * kPageBytes);
    request.set_data(
        PatternPages(kBenchSeed, first_frame + page,
                     std::min(per_message, bytes / kPageBytes - page)));
    if (!writer->Write(request)) break;
  }
  writer->WritesDone();
  return ToAbslStatus(writer->Finish());
}

absl::Status Delete(const std::string& target, const std::string& name) {
  auto admin = v1::BrokerAdmin::NewStub(MakeChannel(target));
  grpc::ClientContext context;
  SetDeadline(&context, kCallTimeout);
  v1::DeleteStoreRequest request;
  request.set_store(name);
  v1::DeleteStoreResponse response;
  return ToAbslStatus(admin->DeleteStore(&context, request, &response));
}

FaultPathSpec BaseSpec() {
  FaultPathSpec spec;
  spec.order = TouchOrder::kSequential;
  spec.threads = absl::GetFlag(FLAGS_threads);
  spec.region_bytes =
      absl::GetFlag(FLAGS_region_kib) > 0
          ? uint64_t{1024} * absl::GetFlag(FLAGS_region_kib)
          : (uint64_t{1} << 20) * absl::GetFlag(FLAGS_region_mib);
  spec.prefetch = static_cast<uint32_t>(absl::GetFlag(FLAGS_prefetch));
  spec.deadline = absl::GetFlag(FLAGS_deadline);
  return spec;
}

FaultPathResult Median(std::vector<FaultPathResult> runs) {
  std::sort(runs.begin(), runs.end(),
            [](const FaultPathResult& a, const FaultPathResult& b) {
              return a.pages_per_second < b.pages_per_second;
            });
  return runs[runs.size() / 2];
}

void Print(const std::string& label, const FaultPathResult& r) {
  std::fprintf(stderr, "  %-44s p50 %7.1f us p99 %7.1f us %9.0f pages/s\n",
               label.c_str(), r.latency.p50_us, r.latency.p99_us,
               r.pages_per_second);
}

std::string StoreName(bool prefetch, int run) {
  return absl::StrCat("bench-", prefetch ? "prefetch" : "single", "-", run);
}

int Repetitions() { return std::max(absl::GetFlag(FLAGS_repetitions), 1); }

// Fills every store the runs read, then lets the servers' append-only
// writes of them settle, so no run competes with the fill's disk writes.
absl::Status FillAll(StoreUnderTest& store) {
  for (const bool prefetch : {false, true}) {
    for (int run = 0; run < Repetitions(); ++run) {
      if (absl::Status filled =
              Fill(store.broker->unix_target(), StoreName(prefetch, run),
                   BaseSpec().region_bytes);
          !filled.ok()) {
        return filled;
      }
    }
  }
  if (store.label != "memory") absl::SleepFor(absl::Seconds(3));
  return absl::OkStatus();
}

// Cold and warm rows of one store and prefetch setting; each run reads a
// store nobody read before, twice.
absl::Status Measure(StoreUnderTest& store, bool prefetch,
                     std::vector<StorePathRow>* rows) {
  std::vector<FaultPathResult> cold, warm;
  for (int run = 0; run < Repetitions(); ++run) {
    const std::string name = StoreName(prefetch, run);
    FaultPathSpec spec = BaseSpec();
    spec.mode = prefetch ? ServeMode::kStreamStagingPrefetch
                         : ServeMode::kStreamStaging;
    spec.transport = Transport::kUnix;
    spec.target = store.broker->unix_target();
    spec.vm_name = "bench-store";
    spec.source.emplace();
    spec.source->mutable_store()->set_store(name);
    for (std::vector<FaultPathResult>* runs : {&cold, &warm}) {
      absl::StatusOr<FaultPathResult> result = RunFaultPath(spec);
      if (!result.ok()) {
        return absl::Status(
            result.status().code(),
            absl::StrCat(store.label, ": ", result.status().message(), " (log ",
                         store.broker->log_path(), ")"));
      }
      Print(absl::StrCat(store.label, prefetch ? " prefetch" : " single",
                         runs == &cold ? " cold" : " warm"),
            *result);
      runs->push_back(*std::move(result));
    }
    if (absl::Status deleted = Delete(spec.target, name); !deleted.ok()) {
      return deleted;
    }
  }
  rows->push_back({store.label, prefetch, false, Median(cold)});
  rows->push_back({store.label, prefetch, true, Median(warm)});
  return absl::OkStatus();
}

int Run(const char* argv0) {
  std::string binary = absl::GetFlag(FLAGS_broker_binary);
  if (binary.empty()) binary = FindBrokerInRunfiles(argv0);
  std::vector<FaultPathResult> limits;
  for (int run = 0; run < Repetitions(); ++run) {
    absl::StatusOr<FaultPathResult> limit = RunFaultPath(BaseSpec());
    if (!limit.ok()) {
      std::fprintf(stderr, "store_path_bench: the limit: %s\n",
                   limit.status().ToString().c_str());
      return 1;
    }
    Print("in-process limit", *limit);
    limits.push_back(*std::move(limit));
  }
  std::vector<StorePathRow> rows;
  for (const std::string& kind : absl::GetFlag(FLAGS_stores)) {
    absl::StatusOr<StoreUnderTest> store = StartStore(kind, binary);
    if (!store.ok()) {
      std::fprintf(stderr, "store_path_bench: starting %s: %s\n", kind.c_str(),
                   store.status().ToString().c_str());
      return 1;
    }
    absl::Status filled = FillAll(*store);
    if (!filled.ok()) {
      std::fprintf(stderr, "store_path_bench: filling %s: %s\n", kind.c_str(),
                   filled.ToString().c_str());
      return 1;
    }
    for (const bool prefetch : {false, true}) {
      if (absl::Status measured = Measure(*store, prefetch, &rows);
          !measured.ok()) {
        std::fprintf(stderr, "store_path_bench: %s\n",
                     measured.ToString().c_str());
        return 1;
      }
    }
  }
  const FaultPathResult limit = Median(limits);
  return PrintAndWriteResults(
      "store_path_bench", StorePathMarkdown(rows, limit),
      absl::GetFlag(FLAGS_markdown), StorePathCsv(rows, limit),
      absl::GetFlag(FLAGS_csv));
}

}  // namespace
}  // namespace faultline::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Host fault-path benchmark of the page store: in memory, Redis "
      "standalone and Redis cluster, cold and warm, with and without "
      "prefetch. Needs /dev/userfaultfd (root), redis-server and redis-cli.");
  absl::ParseCommandLine(argc, argv);
  return faultline::bench::Run(argv[0]);
}
