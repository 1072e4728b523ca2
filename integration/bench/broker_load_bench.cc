// Broker benchmark: faults answered per second with many sessions, each with
// many faults in flight on its Faults stream (a raw gRPC client, pattern
// source), and the fairness check: the p99 of a quiet session (one fault at
// a time) alone, and while another session storms the broker, either with
// retries (its faults are injected to answer retry and it re-asks at once)
// or by flooding past its faults-in-flight quota. Goal: quiet p99 within 2x
// of alone. Beside each quiet figure, the broker's own p99 for the session
// and how often it held the storm's reads: where the quiet session's time
// went.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "integration/bench/bench_files.h"
#include "integration/bench/broker_child.h"
#include "integration/bench/broker_client.h"
#include "integration/bench/stream_load.h"
#include "proto/base/grpc_status.h"
#include "proto/faultline/v1/wire.h"

ABSL_FLAG(std::string, broker_binary, "",
          "//broker:broker; found in the runfiles when empty");
ABSL_FLAG(int, sessions, 8, "sessions of the throughput run");
ABSL_FLAG(int, in_flight, 32, "faults in flight per throughput session");
ABSL_FLAG(int, region_mib, 64, "region per session, MiB (pages cycle)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5),
          "length of the throughput run and of each quiet-session run");
ABSL_FLAG(int, storm_in_flight, 512,
          "faults the storming session keeps in flight (the broker's "
          "default quota is 256)");
ABSL_FLAG(int, worker_threads, 0, "broker --worker_threads; 0: its default");
ABSL_FLAG(int, repetitions, 3,
          "rounds of the fairness runs (alone, beside a retry storm, beside "
          "a flood); each row reports the round with the median quiet p99");
ABSL_FLAG(std::vector<std::string>, broker_flags, {},
          "more broker flags, comma-separated (e.g. "
          "--max_reasks_per_second=0 to measure without the re-ask limit)");
ABSL_FLAG(std::string, csv, "", "also write the results as CSV here");
ABSL_FLAG(std::string, markdown, "", "also write the tables here");

namespace faultline::bench {
namespace {

struct Setup {
  std::string target;
  uint64_t region_pages = 0;
  absl::Duration duration;
  pid_t broker_pid = 0;
};

// CPU seconds used so far by process `pid` (user + system, all threads), or
// by this process (the clients) when `pid` is 0; 0 when unknown.
double CpuSeconds(pid_t pid) {
  if (pid == 0) {
    struct rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    return absl::ToDoubleSeconds(absl::DurationFromTimeval(usage.ru_utime) +
                                 absl::DurationFromTimeval(usage.ru_stime));
  }
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(stat, line);
  // Fields after the command's closing parenthesis; utime and stime are
  // the 12th and 13th of them.
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return 0;
  std::vector<std::string> fields =
      absl::StrSplit(line.substr(paren + 2), ' ', absl::SkipEmpty());
  if (fields.size() < 13) return 0;
  double utime = 0, stime = 0;
  if (!absl::SimpleAtod(fields[11], &utime) ||
      !absl::SimpleAtod(fields[12], &stime)) {
    return 0;
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Cores the broker and the clients kept busy over one quiet run.
struct CpuUse {
  double broker = 0;
  double clients = 0;
};

absl::Status InjectRetries(const std::string& target,
                           const v1::AttachResponse& session) {
  std::unique_ptr<v1::BrokerAdmin::Stub> admin =
      v1::BrokerAdmin::NewStub(MakeChannel(target));
  v1::InjectionRule rule;
  rule.set_session_id(session.session_id());
  rule.set_region_id(1);
  rule.set_count(0);  // until the session detaches
  rule.mutable_retry()->set_reason(v1::RETRY_REASON_BUSY);
  rule.mutable_retry()->set_delay_hint_us(0);
  rule.mutable_retry()->set_detail("benchmark retry storm");
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(10));
  v1::SetInjectionResponse response;
  return ToAbslStatus(admin->SetInjection(&context, rule, &response));
}

absl::StatusOr<std::string> Throughput(const Setup& setup, std::string* csv) {
  const int sessions = absl::GetFlag(FLAGS_sessions);
  std::vector<absl::StatusOr<StreamLoadResult>> results(
      sessions, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < sessions; ++i) {
    threads.emplace_back([&, i] {
      StreamLoadOptions options;
      options.target = setup.target;
      options.vm_name = absl::StrCat("load-", i);
      options.region_pages = setup.region_pages;
      options.in_flight = static_cast<uint32_t>(absl::GetFlag(FLAGS_in_flight));
      options.duration = setup.duration;
      results[i] = RunStreamLoad(options);
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::string table =
      "| session | faults in flight | pages answered | pages/s | p50 us | "
      "p99 us | p99.9 us |\n|---|---|---|---|---|---|---|\n";
  uint64_t total_pages = 0;
  double longest = 0;
  for (int i = 0; i < sessions; ++i) {
    if (!results[i].ok()) return results[i].status();
    const StreamLoadResult& r = *results[i];
    total_pages += r.pages;
    longest = std::max(longest, r.seconds);
    const double rate = r.seconds > 0 ? r.pages / r.seconds : 0;
    absl::StrAppendFormat(
        &table, "| load-%d | %d | %u | %.0f | %.1f | %.1f | %.1f |\n", i,
        absl::GetFlag(FLAGS_in_flight), r.pages, rate, r.latency.p50_us,
        r.latency.p99_us, r.latency.p999_us);
    absl::StrAppendFormat(
        csv, "throughput,load-%d,%d,%u,%u,%.1f,%.2f,%.2f,%.2f\n", i,
        absl::GetFlag(FLAGS_in_flight), r.pages, r.retries, rate,
        r.latency.p50_us, r.latency.p99_us, r.latency.p999_us);
  }
  const double total_rate = longest > 0 ? total_pages / longest : 0;
  absl::StrAppendFormat(&table, "| **all %d** | %d | %u | **%.0f** | | | |\n",
                        sessions, sessions * absl::GetFlag(FLAGS_in_flight),
                        total_pages, total_rate);
  absl::StrAppendFormat(csv, "throughput,all,%d,%u,0,%.1f,0,0,0\n",
                        sessions * absl::GetFlag(FLAGS_in_flight), total_pages,
                        total_rate);
  return table;
}

absl::StatusOr<StreamLoadResult> Quiet(const Setup& setup,
                                       const std::string& name, CpuUse* cpu) {
  StreamLoadOptions options;
  options.target = setup.target;
  options.vm_name = name;
  options.region_pages = setup.region_pages;
  options.in_flight = 1;
  options.duration = setup.duration;
  const absl::Time start = absl::Now();
  const double broker_start = CpuSeconds(setup.broker_pid);
  const double clients_start = CpuSeconds(0);
  absl::StatusOr<StreamLoadResult> result = RunStreamLoad(options);
  const double wall = absl::ToDoubleSeconds(absl::Now() - start);
  if (wall > 0) {
    cpu->broker = (CpuSeconds(setup.broker_pid) - broker_start) / wall;
    cpu->clients = (CpuSeconds(0) - clients_start) / wall;
  }
  return result;
}

struct QuietResult {
  StreamLoadResult quiet;
  StreamLoadResult storm;
  CpuUse cpu;
};

enum class Beside { kNothing, kRetryStorm, kFlood };

// One run of the quiet session, alone or while a storming session runs
// beside it (then also the storm's result).
absl::StatusOr<QuietResult> QuietRun(const Setup& setup, Beside beside) {
  QuietResult result;
  if (beside == Beside::kNothing) {
    absl::StatusOr<StreamLoadResult> alone =
        Quiet(setup, "quiet-alone", &result.cpu);
    if (!alone.ok()) return alone.status();
    result.quiet = *alone;
    return result;
  }
  const bool retry_storm = beside == Beside::kRetryStorm;
  std::atomic<bool> stop{false};
  absl::StatusOr<StreamLoadResult> storm = absl::UnknownError("not run");
  std::thread storm_thread([&] {
    StreamLoadOptions options;
    options.target = setup.target;
    options.vm_name = retry_storm ? "storm-retry" : "storm-flood";
    options.region_pages = setup.region_pages;
    options.in_flight =
        static_cast<uint32_t>(absl::GetFlag(FLAGS_storm_in_flight));
    options.duration = setup.duration + absl::Seconds(30);
    options.stop = &stop;
    if (retry_storm) {
      options.after_attach = [&](const v1::AttachResponse& session) {
        return InjectRetries(setup.target, session);
      };
    }
    storm = RunStreamLoad(options);
  });
  absl::SleepFor(absl::Milliseconds(300));  // let the storm build up
  absl::StatusOr<StreamLoadResult> quiet =
      Quiet(setup, "quiet-beside", &result.cpu);
  stop = true;
  storm_thread.join();
  if (!quiet.ok()) return quiet.status();
  if (!storm.ok()) return storm.status();
  result.quiet = *quiet;
  result.storm = *storm;
  return result;
}

// The run whose quiet p99 is the median of `runs`.
const QuietResult& MedianRun(std::vector<QuietResult>& runs) {
  std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) {
    return a.quiet.latency.p99_us < b.quiet.latency.p99_us;
  });
  return runs[runs.size() / 2];
}

std::string Other(Beside beside, const StreamLoadResult& storm) {
  const double seconds = storm.seconds > 0 ? storm.seconds : 1;
  const int in_flight = absl::GetFlag(FLAGS_storm_in_flight);
  switch (beside) {
    case Beside::kNothing:
      return "-";
    case Beside::kRetryStorm:
      return absl::StrFormat(
          "retry storm: %d in flight, every answer retry, re-asked at once: "
          "%.0f retries/s; broker held its re-asks %.0f times/s",
          in_flight, storm.retries / seconds,
          storm.broker.reasks_throttled / seconds);
    case Beside::kFlood:
      return absl::StrFormat(
          "flood: %d in flight (twice the quota): %.0f pages/s, %.0f "
          "over-quota retries/s; broker paused its reads %.0f times/s",
          in_flight, storm.pages / seconds, storm.retries / seconds,
          storm.broker.reads_paused / seconds);
  }
  return "";
}

// Alone, beside a retry storm and beside a flood, in rounds (so that the
// machine's load drifts across all three alike); each row is the round
// with the median quiet p99.
absl::StatusOr<std::string> Fairness(const Setup& setup, std::string* csv) {
  const Beside kinds[] = {Beside::kNothing, Beside::kRetryStorm,
                          Beside::kFlood};
  std::vector<QuietResult> runs[3];
  const int repetitions = std::max(1, absl::GetFlag(FLAGS_repetitions));
  for (int round = 0; round < repetitions; ++round) {
    for (int k = 0; k < 3; ++k) {
      auto run = QuietRun(setup, kinds[k]);
      if (!run.ok()) return run.status();
      runs[k].push_back(*std::move(run));
    }
  }
  std::string table = absl::StrFormat(
      "| quiet session (1 fault in flight), median of %d | p50 us | p99 us "
      "| p99.9 us | broker p99 us | p99 vs alone | CPUs: broker + clients "
      "| the other session |\n|---|---|---|---|---|---|---|---|\n",
      repetitions);
  const double alone_p99 = MedianRun(runs[0]).quiet.latency.p99_us;
  const char* const labels[] = {"alone", "beside a retry storm",
                                "beside a flood"};
  const char* const csv_labels[] = {"alone", "beside_retry_storm",
                                    "beside_flood"};
  for (int k = 0; k < 3; ++k) {
    const QuietResult& median = MedianRun(runs[k]);
    const StreamLoadResult& quiet = median.quiet;
    const double ratio = alone_p99 > 0 ? quiet.latency.p99_us / alone_p99 : 0;
    absl::StrAppendFormat(
        &table, "| %s | %.1f | %.1f | %.1f | %.0f | %s | %.2f + %.2f | %s |\n",
        labels[k], quiet.latency.p50_us, quiet.latency.p99_us,
        quiet.latency.p999_us, quiet.broker.p99_us,
        k == 0 ? "1.00" : absl::StrFormat("**%.2f**", ratio), median.cpu.broker,
        median.cpu.clients, Other(kinds[k], median.storm));
    absl::StrAppendFormat(csv, "fairness,%s,1,%u,%u,0,%.2f,%.2f,%.2f\n",
                          csv_labels[k], quiet.pages, quiet.retries,
                          quiet.latency.p50_us, quiet.latency.p99_us,
                          quiet.latency.p999_us);
  }
  return table;
}

int Run(const char* argv0) {
  std::string binary = absl::GetFlag(FLAGS_broker_binary);
  if (binary.empty()) binary = FindBrokerInRunfiles(argv0);
  absl::StatusOr<std::string> directory = MakeShortTempDir();
  if (!directory.ok()) {
    std::fprintf(stderr, "broker_load_bench: %s\n",
                 directory.status().ToString().c_str());
    return 1;
  }
  auto broker = BrokerChild::Start(
      {binary, *directory, "unused", "unused",
       absl::GetFlag(FLAGS_worker_threads), absl::Seconds(20)},
      absl::GetFlag(FLAGS_broker_flags));
  if (!broker.ok()) {
    std::fprintf(stderr, "broker_load_bench: starting the broker: %s\n",
                 broker.status().ToString().c_str());
    return 1;
  }
  Setup setup;
  setup.target = (*broker)->unix_target();
  setup.region_pages = (uint64_t{1} << 20) * absl::GetFlag(FLAGS_region_mib) /
                       v1::wire::kPageBytes;
  setup.duration = absl::GetFlag(FLAGS_duration);
  setup.broker_pid = (*broker)->pid();
  std::string csv =
      "run,session,in_flight,pages,retries,pages_per_second,p50_us,p99_us,"
      "p999_us\n";
  absl::StatusOr<std::string> throughput = Throughput(setup, &csv);
  absl::StatusOr<std::string> fairness =
      throughput.ok() ? Fairness(setup, &csv) : throughput.status();
  if (!fairness.ok()) {
    std::fprintf(stderr, "broker_load_bench: %s (log %s)\n",
                 fairness.status().ToString().c_str(),
                 (*broker)->log_path().c_str());
    return 1;
  }
  return PrintAndWriteResults(
      "broker_load_bench", absl::StrCat(*throughput, "\n", *fairness),
      absl::GetFlag(FLAGS_markdown), csv, absl::GetFlag(FLAGS_csv));
}

}  // namespace
}  // namespace faultline::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Broker throughput with many sessions, and the quiet session's p99 "
      "alone vs beside a storming session.");
  absl::ParseCommandLine(argc, argv);
  return faultline::bench::Run(argv[0]);
}
