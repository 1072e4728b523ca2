// The side-by-side benchmark: one run, one host (the nested test host,
// where CRIU works), the same workload for every row of peer_row.h: one
// thread touches every page of the region once, in the same order, timing
// each first touch. Repetitions are interleaved (every row once, then
// again), so load that drifts during the run spreads over all rows; each
// row reports its median repetition by us per page. Writes a Markdown
// table, CSV and CDF points for peer_latency.gp.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "integration/bench/bench_files.h"
#include "integration/bench/broker_child.h"
#include "integration/bench/peer_report.h"
#include "integration/bench/peer_row.h"

// The rows, in table order. A new faultline mode is one more entry here
// once page_server.h knows it (see README.md, "Adding a row").
ABSL_FLAG(std::vector<std::string>, rows,
          std::vector<std::string>({
              "local",
              "unary/unix",
              "unary/tcp",
              "stream/unix",
              "stream/tcp",
              "stream+prefetch/unix",
              "stream+prefetch/tcp",
              "stream+staging/unix",
              "stream+staging+prefetch/unix",
              "criu/lazy-pages",
              "criu/page-server",
          }),
          "rows to run (peer_row.h)");
ABSL_FLAG(std::vector<std::string>, orders,
          std::vector<std::string>({"sequential", "random"}),
          "touch orders: sequential, strided, random");
ABSL_FLAG(int, region_mib, 64, "region touched per run, MiB");
ABSL_FLAG(int, region_kib, 0, "if set, overrides --region_mib (smoke tests)");
ABSL_FLAG(int, repetitions, 3, "runs per row and order; the median is kept");
ABSL_FLAG(int, prefetch, 15, "prefetch hint of the prefetch modes");
ABSL_FLAG(int, stride_pages, 64, "stride of the strided order, in pages");
ABSL_FLAG(absl::Duration, deadline, absl::Minutes(5),
          "longest one run (or one CRIU step) may take");
ABSL_FLAG(std::string, broker_binary, "",
          "//broker:broker; found in the runfiles when empty");
ABSL_FLAG(std::string, toucher_binary, "",
          "//integration/bench:criu_toucher; beside this program when empty");
ABSL_FLAG(std::string, criu, "criu", "the criu binary");
ABSL_FLAG(std::string, work_dir, "",
          "scratch for the broker and CRIU's images (a fresh /tmp folder "
          "when empty)");
ABSL_FLAG(std::string, csv, "", "also write the results as CSV here");
ABSL_FLAG(std::string, markdown, "", "also write the table here");
ABSL_FLAG(std::string, cdf_dir, "",
          "write CDF points here: rows, cdf_ORDER_N.dat and "
          "cdf_waited_ORDER_N.dat (N: the row's place in --rows, from 1)");

namespace faultline::bench {
namespace {

constexpr char kTcpVmName[] = "peer-tcp";
constexpr char kTcpVmToken[] = "peer-token";

int Fail(const std::string& what) {
  std::fprintf(stderr, "peer_bench: %s\n", what.c_str());
  return 1;
}

std::string Sibling(const char* argv0, const std::string& name) {
  std::string path(argv0);
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? name : path.substr(0, slash + 1) + name;
}

absl::Status WriteCdfFiles(const std::string& dir,
                           const std::vector<std::string>& labels,
                           const std::vector<PeerSummary>& summaries) {
  if (dir.empty()) return absl::OkStatus();
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::UnavailableError("cannot create " + dir);
  }
  absl::Status status =
      WriteTextFile(dir + "/rows", absl::StrJoin(labels, " ") + "\n");
  for (const PeerSummary& row : summaries) {
    size_t index = 0;
    while (index < labels.size() && labels[index] != row.label) ++index;
    const std::string suffix =
        absl::StrCat(TouchOrderName(row.order), "_", index + 1, ".dat");
    status.Update(
        WriteTextFile(dir + "/cdf_" + suffix, CdfPoints(row.nanos, 2000)));
    status.Update(WriteTextFile(dir + "/cdf_waited_" + suffix,
                                CdfPoints(row.waited_nanos, 2000)));
  }
  return status;
}

int Run(const char* argv0) {
  std::string work_dir = absl::GetFlag(FLAGS_work_dir);
  if (work_dir.empty()) {
    absl::StatusOr<std::string> made = MakeShortTempDir();
    if (!made.ok()) return Fail(made.status().ToString());
    work_dir = *made;
  }
  const std::vector<std::string> labels = absl::GetFlag(FLAGS_rows);
  bool needs_broker = false;
  for (const std::string& label : labels) {
    needs_broker |= label != kLimitLabel && label.rfind("criu/", 0) != 0;
  }
  std::unique_ptr<BrokerChild> broker;
  if (needs_broker) {
    std::string binary = absl::GetFlag(FLAGS_broker_binary);
    if (binary.empty()) binary = FindBrokerInRunfiles(argv0);
    absl::StatusOr<std::unique_ptr<BrokerChild>> started = BrokerChild::Start(
        {binary, work_dir, kTcpVmName, kTcpVmToken, 0, absl::Seconds(60)});
    if (!started.ok())
      return Fail("starting the broker: " + started.status().ToString());
    broker = *std::move(started);
  }
  PeerContext context;
  context.broker = broker.get();
  context.tcp_vm_name = kTcpVmName;
  context.tcp_vm_token = kTcpVmToken;
  context.prefetch = static_cast<uint32_t>(absl::GetFlag(FLAGS_prefetch));
  context.criu = absl::GetFlag(FLAGS_criu);
  context.toucher = absl::GetFlag(FLAGS_toucher_binary);
  if (context.toucher.empty()) context.toucher = Sibling(argv0, "criu_toucher");
  context.work_dir = work_dir;
  std::vector<std::unique_ptr<PeerRow>> rows;
  for (const std::string& label : labels) {
    absl::StatusOr<std::unique_ptr<PeerRow>> row = MakePeerRow(label, context);
    if (!row.ok()) return Fail(row.status().ToString());
    rows.push_back(*std::move(row));
  }

  PeerWorkload workload;
  workload.region_bytes =
      absl::GetFlag(FLAGS_region_kib) > 0
          ? uint64_t{1024} * absl::GetFlag(FLAGS_region_kib)
          : (uint64_t{1} << 20) * absl::GetFlag(FLAGS_region_mib);
  workload.stride_pages =
      static_cast<uint64_t>(absl::GetFlag(FLAGS_stride_pages));
  workload.deadline = absl::GetFlag(FLAGS_deadline);
  const int repetitions = std::max(absl::GetFlag(FLAGS_repetitions), 1);
  std::vector<PeerSummary> summaries;
  for (const std::string& order_name : absl::GetFlag(FLAGS_orders)) {
    absl::StatusOr<TouchOrder> order = ParseTouchOrder(order_name);
    if (!order.ok()) return Fail(order.status().ToString());
    workload.order = *order;
    std::vector<std::vector<PeerRun>> runs(rows.size());
    for (int repetition = 0; repetition < repetitions; ++repetition) {
      for (size_t i = 0; i < rows.size(); ++i) {
        absl::StatusOr<PeerRun> run = rows[i]->RunOnce(workload);
        if (!run.ok()) {
          return Fail(absl::StrCat(
              order_name, " ", rows[i]->label(), ": ", run.status().ToString(),
              broker ? " (broker log " + broker->log_path() + ")" : ""));
        }
        runs[i].push_back(*std::move(run));
        const PeerSummary one =
            SummarizePeerRuns(rows[i]->label(), rows[i]->faults_source(),
                              *order, {runs[i].back()});
        std::fprintf(stderr,
                     "  %-10s %-30s run %d: %8.1f us/page, %6lu waited, %6lu "
                     "faults, p50 waited %8.1f us\n",
                     order_name.c_str(), rows[i]->label().c_str(),
                     repetition + 1, one.us_per_page,
                     static_cast<unsigned long>(one.waited),
                     static_cast<unsigned long>(one.faults), one.waited_p50_us);
      }
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      summaries.push_back(SummarizePeerRuns(
          rows[i]->label(), rows[i]->faults_source(), *order, runs[i]));
    }
  }
  if (absl::Status written =
          WriteCdfFiles(absl::GetFlag(FLAGS_cdf_dir), labels, summaries);
      !written.ok()) {
    return Fail(written.ToString());
  }
  return PrintAndWriteResults("peer_bench", PeerMarkdown(summaries),
                              absl::GetFlag(FLAGS_markdown), PeerCsv(summaries),
                              absl::GetFlag(FLAGS_csv));
}

}  // namespace
}  // namespace faultline::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Side by side in one run: the limit, faultline's co-located modes and "
      "CRIU 3.17's lazy pages, the same first-touch workload.\nNeeds root, "
      "/dev/userfaultfd and a working criu (the nested test host: "
      "peer_run.sh). Example: peer_bench --region_mib=64 --csv=peer.csv");
  absl::ParseCommandLine(argc, argv);
  return faultline::bench::Run(argv[0]);
}
