// The host fault-path benchmark: the same workload served by the limit (an
// in-process userfaultfd handler), the naive way (one unary ResolveFault per
// fault) and protocol v1 (the VMM's FaultEngine on the Faults stream, with
// and without prefetch), each broker mode on a Unix socket and on TCP
// loopback against the real broker binary, for several touch orders and
// thread counts. Prints a Markdown table; --csv/--markdown write files.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "integration/bench/bench_files.h"
#include "integration/bench/broker_child.h"
#include "integration/bench/fault_path_report.h"
#include "integration/bench/fault_path_run.h"

ABSL_FLAG(std::string, broker_binary, "",
          "//broker:broker; found in the runfiles when empty");
ABSL_FLAG(int, region_mib, 32, "guest memory per configuration, MiB");
ABSL_FLAG(int, region_kib, 0, "if set, overrides --region_mib (smoke tests)");
ABSL_FLAG(std::vector<std::string>, threads,
          std::vector<std::string>({"1", "2", "4"}),
          "toucher (vCPU stand-in) thread counts");
ABSL_FLAG(std::vector<std::string>, orders,
          std::vector<std::string>({"sequential", "strided", "random"}),
          "touch orders: sequential, strided, random");
ABSL_FLAG(std::vector<std::string>, modes,
          std::vector<std::string>({"local", "unary", "stream",
                                    "stream+prefetch", "stream+staging",
                                    "stream+staging+prefetch", "ring",
                                    "ring+prefetch"}),
          "local (the limit), unary, stream, stream+prefetch, "
          "stream+staging, stream+staging+prefetch, ring, ring+prefetch "
          "(the last four Unix socket only; ring: staging and the fault "
          "ring)");
ABSL_FLAG(std::vector<std::string>, transports,
          std::vector<std::string>({"unix", "tcp"}),
          "broker transports: unix, tcp");
ABSL_FLAG(int, prefetch, 15, "prefetch hint of the prefetch modes");
ABSL_FLAG(int, stride_pages, 64, "stride of the strided order, in pages");
ABSL_FLAG(absl::Duration, ring_spin, absl::ZeroDuration(),
          "ring modes: how long the VMM's ring thread and the broker's ring "
          "reader spin before they sleep on the doorbell");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(120),
          "longest one configuration may take");
ABSL_FLAG(int, repetitions, 1,
          "runs per configuration; the one with the median pages/s is "
          "reported (other load on the machine moves single runs a lot)");
ABSL_FLAG(std::string, csv, "", "also write the results as CSV here");
ABSL_FLAG(std::string, markdown, "", "also write the table here");

namespace faultline::bench {
namespace {

constexpr char kTcpVmName[] = "bench-tcp";
constexpr char kTcpVmToken[] = "bench-token";

absl::StatusOr<std::vector<FaultPathSpec>> Matrix(const BrokerChild& broker) {
  const uint64_t region_bytes =
      absl::GetFlag(FLAGS_region_kib) > 0
          ? uint64_t{1024} * absl::GetFlag(FLAGS_region_kib)
          : (uint64_t{1} << 20) * absl::GetFlag(FLAGS_region_mib);
  std::vector<FaultPathSpec> specs;
  for (const std::string& order_name : absl::GetFlag(FLAGS_orders)) {
    absl::StatusOr<TouchOrder> order = ParseTouchOrder(order_name);
    if (!order.ok()) return order.status();
    for (const std::string& threads_text : absl::GetFlag(FLAGS_threads)) {
      int threads = 0;
      if (!absl::SimpleAtoi(threads_text, &threads) || threads < 1 ||
          threads > 64) {
        return absl::InvalidArgumentError(
            absl::StrCat("bad --threads value '", threads_text, "'"));
      }
      for (const std::string& mode_name : absl::GetFlag(FLAGS_modes)) {
        absl::StatusOr<ServeMode> mode = ParseServeMode(mode_name);
        if (!mode.ok()) return mode.status();
        FaultPathSpec spec;
        spec.mode = *mode;
        spec.order = *order;
        spec.threads = threads;
        spec.region_bytes = region_bytes;
        spec.prefetch = static_cast<uint32_t>(absl::GetFlag(FLAGS_prefetch));
        spec.ring_spin = absl::GetFlag(FLAGS_ring_spin);
        spec.stride_pages =
            static_cast<uint64_t>(absl::GetFlag(FLAGS_stride_pages));
        spec.deadline = absl::GetFlag(FLAGS_deadline);
        if (*mode == ServeMode::kLocal) {
          specs.push_back(spec);
          continue;
        }
        for (const std::string& transport : absl::GetFlag(FLAGS_transports)) {
          if (transport == "unix") {
            spec.transport = Transport::kUnix;
            spec.target = broker.unix_target();
            spec.vm_name = "bench-unix";
            spec.vm_token.clear();
          } else if (UsesStaging(*mode)) {
            continue;  // staging areas and rings: on the broker's socket only
          } else if (transport == "tcp") {
            spec.transport = Transport::kTcp;
            spec.target = broker.tcp_target();
            spec.vm_name = kTcpVmName;
            spec.vm_token = kTcpVmToken;
          } else {
            return absl::InvalidArgumentError(
                absl::StrCat("unknown transport '", transport, "'"));
          }
          specs.push_back(spec);
        }
      }
    }
  }
  return specs;
}

int Run(const char* argv0) {
  std::string binary = absl::GetFlag(FLAGS_broker_binary);
  if (binary.empty()) binary = FindBrokerInRunfiles(argv0);
  absl::StatusOr<std::string> directory = MakeShortTempDir();
  if (!directory.ok()) {
    std::fprintf(stderr, "fault_path_bench: %s\n",
                 directory.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<BrokerChild>> broker = BrokerChild::Start(
      {binary, *directory, kTcpVmName, kTcpVmToken, 0, absl::Seconds(20)},
      {absl::StrCat("--fault_ring_spin=",
                    absl::FormatDuration(absl::GetFlag(FLAGS_ring_spin)))});
  if (!broker.ok()) {
    std::fprintf(stderr, "fault_path_bench: starting the broker: %s\n",
                 broker.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::vector<FaultPathSpec>> specs = Matrix(**broker);
  if (!specs.ok()) {
    std::fprintf(stderr, "fault_path_bench: %s\n",
                 specs.status().ToString().c_str());
    return 2;
  }
  std::fprintf(stderr, "fault_path_bench: %zu configurations, broker %s, %s\n",
               specs->size(), (*broker)->unix_target().c_str(),
               (*broker)->tcp_target().c_str());
  const int repetitions = std::max(absl::GetFlag(FLAGS_repetitions), 1);
  std::vector<FaultPathResult> results;
  for (const FaultPathSpec& spec : *specs) {
    std::vector<FaultPathResult> runs;
    for (int run = 0; run < repetitions; ++run) {
      absl::StatusOr<FaultPathResult> result = RunFaultPath(spec);
      if (!result.ok()) {
        std::fprintf(
            stderr, "fault_path_bench: %s %d threads %s: %s (log %s)\n",
            TouchOrderName(spec.order), spec.threads, ModeLabel(spec).c_str(),
            result.status().ToString().c_str(), (*broker)->log_path().c_str());
        return 1;
      }
      std::fprintf(stderr,
                   "  %-10s %d thr %-22s %9.0f faults/s %9.0f pages/s p50 "
                   "%7.1f us p99 %7.1f us\n",
                   TouchOrderName(spec.order), spec.threads,
                   ModeLabel(spec).c_str(), result->faults_per_second,
                   result->pages_per_second, result->latency.p50_us,
                   result->latency.p99_us);
      runs.push_back(*std::move(result));
    }
    std::sort(runs.begin(), runs.end(),
              [](const FaultPathResult& a, const FaultPathResult& b) {
                return a.pages_per_second < b.pages_per_second;
              });
    results.push_back(runs[runs.size() / 2]);
  }
  return PrintAndWriteResults("fault_path_bench", FaultPathMarkdown(results),
                              absl::GetFlag(FLAGS_markdown),
                              FaultPathCsv(results), absl::GetFlag(FLAGS_csv));
}

}  // namespace
}  // namespace faultline::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Host fault-path benchmark: limit vs unary vs protocol v1 stream.\n"
      "Needs /dev/userfaultfd (root). Example: fault_path_bench "
      "--region_mib=32 --csv=fault_path.csv");
  absl::ParseCommandLine(argc, argv);
  return faultline::bench::Run(argv[0]);
}
