#include "integration/bench/fault_path_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace faultline::bench {
namespace {

// The limit's result for the same order and thread count, or nullptr.
const FaultPathResult* LimitFor(const std::vector<FaultPathResult>& results,
                                const FaultPathResult& result) {
  for (const FaultPathResult& candidate : results) {
    if (candidate.spec.mode == ServeMode::kLocal &&
        candidate.spec.order == result.spec.order &&
        candidate.spec.threads == result.spec.threads) {
      return &candidate;
    }
  }
  return nullptr;
}

double Ratio(double value, double limit) {
  return limit > 0 ? value / limit : 0;
}

}  // namespace

std::string ModeLabel(const FaultPathSpec& spec) {
  if (spec.mode == ServeMode::kLocal) return ServeModeName(spec.mode);
  return absl::StrCat(ServeModeName(spec.mode), "/",
                      TransportName(spec.transport));
}

std::string FaultPathMarkdown(const std::vector<FaultPathResult>& results) {
  std::string out =
      "| order | threads | mode | faults/s | pages/s | p50 us | p99 us | "
      "p99.9 us | faults/s vs limit | pages/s vs limit | p50 vs limit | "
      "p99 vs limit | p99.9 vs limit |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const FaultPathResult& r : results) {
    const FaultPathResult* limit = LimitFor(results, r);
    const FaultPathResult& l = limit != nullptr ? *limit : r;
    absl::StrAppendFormat(
        &out,
        "| %s | %d | %s | %.0f | %.0f | %.1f | %.1f | %.1f | %.2f | %.2f | "
        "%.2f | %.2f | %.2f |\n",
        TouchOrderName(r.spec.order), r.spec.threads, ModeLabel(r.spec),
        r.faults_per_second, r.pages_per_second, r.latency.p50_us,
        r.latency.p99_us, r.latency.p999_us,
        Ratio(r.faults_per_second, l.faults_per_second),
        Ratio(r.pages_per_second, l.pages_per_second),
        Ratio(r.latency.p50_us, l.latency.p50_us),
        Ratio(r.latency.p99_us, l.latency.p99_us),
        Ratio(r.latency.p999_us, l.latency.p999_us));
  }
  return out;
}

std::string FaultPathCsv(const std::vector<FaultPathResult>& results) {
  std::string out =
      "order,threads,mode,transport,label,region_pages,seconds,faults,"
      "extra_pages,retries,faults_per_second,pages_per_second,p50_us,p99_us,"
      "p999_us,max_us,faults_per_second_ratio,pages_per_second_ratio,"
      "p50_ratio,p99_ratio,p999_ratio\n";
  for (const FaultPathResult& r : results) {
    const FaultPathResult* limit = LimitFor(results, r);
    const FaultPathResult& l = limit != nullptr ? *limit : r;
    absl::StrAppendFormat(
        &out,
        "%s,%d,%s,%s,%s,%u,%.4f,%u,%u,%u,%.1f,%.1f,%.2f,%.2f,%.2f,%.2f,%.4f,"
        "%.4f,%.4f,%.4f,%.4f\n",
        TouchOrderName(r.spec.order), r.spec.threads,
        ServeModeName(r.spec.mode), TransportName(r.spec.transport),
        ModeLabel(r.spec), r.pages, r.seconds, r.counts.faults,
        r.counts.extra_pages, r.counts.retries, r.faults_per_second,
        r.pages_per_second, r.latency.p50_us, r.latency.p99_us,
        r.latency.p999_us, r.latency.max_us,
        Ratio(r.faults_per_second, l.faults_per_second),
        Ratio(r.pages_per_second, l.pages_per_second),
        Ratio(r.latency.p50_us, l.latency.p50_us),
        Ratio(r.latency.p99_us, l.latency.p99_us),
        Ratio(r.latency.p999_us, l.latency.p999_us));
  }
  return out;
}

}  // namespace faultline::bench
