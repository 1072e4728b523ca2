// Broker benchmark: faults answered per second with many sessions, each with
// many faults in flight on its Faults stream (a raw gRPC client, pattern
// source), and the fairness check: the p99 of a quiet session (one fault at
// a time) alone, and while another session storms the broker, either with
// retries (its faults are injected to answer retry and it re-asks at once)
// or by flooding past its faults-in-flight quota. Goal: quiet p99 within 2x
// of alone.
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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
ABSL_FLAG(std::string, csv, "", "also write the results as CSV here");
ABSL_FLAG(std::string, markdown, "", "also write the tables here");

namespace faultline::bench {
namespace {

struct Setup {
  std::string target;
  uint64_t region_pages = 0;
  absl::Duration duration;
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
                                       const std::string& name) {
  StreamLoadOptions options;
  options.target = setup.target;
  options.vm_name = name;
  options.region_pages = setup.region_pages;
  options.in_flight = 1;
  options.duration = setup.duration;
  return RunStreamLoad(options);
}

// The quiet session's run while a storming session runs beside it.
absl::StatusOr<std::pair<StreamLoadResult, StreamLoadResult>> QuietBesideStorm(
    const Setup& setup, bool retry_storm) {
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
  absl::StatusOr<StreamLoadResult> quiet = Quiet(setup, "quiet-beside");
  stop = true;
  storm_thread.join();
  if (!quiet.ok()) return quiet.status();
  if (!storm.ok()) return storm.status();
  return std::make_pair(*quiet, *storm);
}

absl::StatusOr<std::string> Fairness(const Setup& setup, std::string* csv) {
  absl::StatusOr<StreamLoadResult> alone = Quiet(setup, "quiet-alone");
  if (!alone.ok()) return alone.status();
  std::string table =
      "| quiet session (1 fault in flight) | p50 us | p99 us | p99.9 us | "
      "p99 vs alone | the other session |\n|---|---|---|---|---|---|\n";
  absl::StrAppendFormat(&table, "| alone | %.1f | %.1f | %.1f | 1.00 | - |\n",
                        alone->latency.p50_us, alone->latency.p99_us,
                        alone->latency.p999_us);
  absl::StrAppendFormat(csv, "fairness,alone,1,%u,%u,0,%.2f,%.2f,%.2f\n",
                        alone->pages, alone->retries, alone->latency.p50_us,
                        alone->latency.p99_us, alone->latency.p999_us);
  for (const bool retry_storm : {true, false}) {
    auto runs = QuietBesideStorm(setup, retry_storm);
    if (!runs.ok()) return runs.status();
    const StreamLoadResult& quiet = runs->first;
    const StreamLoadResult& storm = runs->second;
    const double ratio = alone->latency.p99_us > 0
                             ? quiet.latency.p99_us / alone->latency.p99_us
                             : 0;
    const std::string other =
        retry_storm
            ? absl::StrFormat(
                  "retry storm: %d in flight, every answer retry, "
                  "re-asked at once: %.0f retries/s",
                  absl::GetFlag(FLAGS_storm_in_flight),
                  storm.retries / storm.seconds)
            : absl::StrFormat(
                  "flood: %d in flight (over quota): %.0f pages/s, "
                  "%.0f over-quota retries/s",
                  absl::GetFlag(FLAGS_storm_in_flight),
                  storm.pages / storm.seconds, storm.retries / storm.seconds);
    const char* label = retry_storm ? "beside a retry storm" : "beside a flood";
    absl::StrAppendFormat(&table,
                          "| %s | %.1f | %.1f | %.1f | **%.2f** | %s |\n",
                          label, quiet.latency.p50_us, quiet.latency.p99_us,
                          quiet.latency.p999_us, ratio, other);
    absl::StrAppendFormat(csv, "fairness,%s,1,%u,%u,0,%.2f,%.2f,%.2f\n",
                          retry_storm ? "beside_retry_storm" : "beside_flood",
                          quiet.pages, quiet.retries, quiet.latency.p50_us,
                          quiet.latency.p99_us, quiet.latency.p999_us);
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
  auto broker = BrokerChild::Start({binary, *directory, "unused", "unused",
                                    absl::GetFlag(FLAGS_worker_threads),
                                    absl::Seconds(20)});
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
