#include "integration/bench/peer_report.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "integration/bench/latency_summary.h"

namespace faultline::bench {
namespace {

double UsPerPage(const PeerRun& run) {
  if (run.pages == 0) return 0;
  const double total =
      std::accumulate(run.touches.nanos.begin(), run.touches.nanos.end(), 0.0);
  return total / 1000.0 / static_cast<double>(run.pages);
}

const PeerSummary* Find(const std::vector<PeerSummary>& rows,
                        const std::string& label, TouchOrder order) {
  for (const PeerSummary& row : rows) {
    if (row.label == label && row.order == order) return &row;
  }
  return nullptr;
}

// "1.23" or "-" when there is nothing to compare with.
std::string Ratio(double value, const PeerSummary* base, bool waited_p50) {
  if (base == nullptr) return "-";
  const double denominator =
      waited_p50 ? base->waited_p50_us : base->us_per_page;
  if (denominator <= 0) return "-";
  return absl::StrFormat("%.2f", value / denominator);
}

std::string Runs(const PeerSummary& row) {
  return absl::StrJoin(row.us_per_page_runs, " ",
                       [](std::string* out, double value) {
                         absl::StrAppendFormat(out, "%.0f", value);
                       });
}

}  // namespace

PeerSummary SummarizePeerRuns(const std::string& label,
                              const std::string& faults_source,
                              TouchOrder order,
                              const std::vector<PeerRun>& runs) {
  PeerSummary summary;
  summary.label = label;
  summary.faults_source = faults_source;
  summary.order = order;
  if (runs.empty()) return summary;
  std::vector<size_t> by_speed(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) {
    by_speed[i] = i;
    summary.us_per_page_runs.push_back(UsPerPage(runs[i]));
  }
  std::sort(by_speed.begin(), by_speed.end(), [&](size_t a, size_t b) {
    return summary.us_per_page_runs[a] < summary.us_per_page_runs[b];
  });
  const PeerRun& median = runs[by_speed[runs.size() / 2]];
  summary.pages = median.pages;
  summary.us_per_page = UsPerPage(median);
  summary.faults = median.faults;
  summary.setup_seconds = median.setup_seconds;
  if (median.pages > 0) {
    summary.wall_us_per_page = static_cast<double>(median.touches.wall_nanos) /
                               1000.0 / static_cast<double>(median.pages);
  }
  std::vector<int64_t> waited;
  for (size_t i = 0; i < median.touches.nanos.size(); ++i) {
    if (i < median.touches.waited.size() && median.touches.waited[i] != 0) {
      waited.push_back(median.touches.nanos[i]);
    }
  }
  summary.waited = waited.size();
  summary.waited_nanos = waited;
  const LatencySummary waited_latency = Summarize(waited);
  summary.waited_p50_us = waited_latency.p50_us;
  summary.waited_p99_us = waited_latency.p99_us;
  summary.nanos = median.touches.nanos;
  std::vector<int64_t> all = median.touches.nanos;
  summary.p50_us = Summarize(all).p50_us;
  return summary;
}

std::string PeerMarkdown(const std::vector<PeerSummary>& rows) {
  std::string out =
      "| order | mode | us/page | wall us/page | vs limit | "
      "vs criu/lazy-pages | "
      "vs criu/page-server | touches that waited | faults/page | "
      "p50 waited us | p99 waited us | p50 waited vs limit | p50 all us | "
      "us/page of each run |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const PeerSummary& row : rows) {
    const PeerSummary* limit = Find(rows, kLimitLabel, row.order);
    const PeerSummary* lazy = Find(rows, kCriuLazyPagesLabel, row.order);
    const PeerSummary* server = Find(rows, kCriuPageServerLabel, row.order);
    const double pages = row.pages > 0 ? static_cast<double>(row.pages) : 1;
    absl::StrAppendFormat(
        &out,
        "| %s | %s | %.1f | %.1f | %s | %s | %s | %.2f%% | %.4f | %.1f | %.1f "
        "| "
        "%s | %.1f | %s |\n",
        TouchOrderName(row.order), row.label, row.us_per_page,
        row.wall_us_per_page, Ratio(row.us_per_page, limit, false),
        Ratio(row.us_per_page, lazy, false),
        Ratio(row.us_per_page, server, false),
        100.0 * static_cast<double>(row.waited) / pages,
        static_cast<double>(row.faults) / pages, row.waited_p50_us,
        row.waited_p99_us, Ratio(row.waited_p50_us, limit, true), row.p50_us,
        Runs(row));
  }
  return out;
}

std::string PeerCsv(const std::vector<PeerSummary>& rows) {
  std::string out =
      "order,label,pages,us_per_page,wall_us_per_page,waited,faults,"
      "waited_p50_us,waited_p99_us,p50_us,setup_seconds,us_per_page_runs,"
      "faults_source\n";
  for (const PeerSummary& row : rows) {
    absl::StrAppendFormat(
        &out, "%s,%s,%u,%.2f,%.2f,%u,%u,%.2f,%.2f,%.2f,%.2f,%s,%s\n",
        TouchOrderName(row.order), row.label, row.pages, row.us_per_page,
        row.wall_us_per_page, row.waited, row.faults, row.waited_p50_us,
        row.waited_p99_us, row.p50_us, row.setup_seconds, Runs(row),
        row.faults_source);
  }
  return out;
}

std::string CdfPoints(std::vector<int64_t> nanos, size_t points) {
  std::string out;
  if (nanos.empty()) return out;
  std::sort(nanos.begin(), nanos.end());
  const size_t n = nanos.size();
  const size_t step = std::max<size_t>(1, n / std::max<size_t>(points, 1));
  const size_t tail = n - n / 100;  // every sample of the slowest 1%
  for (size_t i = 0; i < n; ++i) {
    if (i % step != 0 && i < tail && i + 1 != n) continue;
    absl::StrAppendFormat(&out, "%.3f %.6f\n",
                          static_cast<double>(nanos[i]) / 1000.0,
                          static_cast<double>(i + 1) / static_cast<double>(n));
  }
  return out;
}

}  // namespace faultline::bench
