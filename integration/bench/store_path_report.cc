#include "integration/bench/store_path_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace faultline::bench {
namespace {

constexpr char kMemory[] = "memory";
constexpr char kCluster[] = "redis cluster";

double Ratio(double value, double base) { return base > 0 ? value / base : 0; }

const StorePathRow* Find(const std::vector<StorePathRow>& rows,
                         const std::string& backend, bool prefetch, bool warm) {
  for (const StorePathRow& row : rows) {
    if (row.backend == backend && row.prefetch == prefetch && row.warm == warm)
      return &row;
  }
  return nullptr;
}

// The in-memory store's row for the same prefetch and cache state.
const StorePathRow& MemoryFor(const std::vector<StorePathRow>& rows,
                              const StorePathRow& row) {
  const StorePathRow* memory = Find(rows, kMemory, row.prefetch, row.warm);
  return memory != nullptr ? *memory : row;
}

const char* Verdict(bool met) { return met ? "met" : "**not met**"; }

// One goal's line, or a note that the run lacks its rows.
std::string Goal(const std::vector<StorePathRow>& rows, const char* what,
                 bool prefetch, bool warm, bool by_latency, double bound) {
  const StorePathRow* cluster = Find(rows, kCluster, prefetch, warm);
  const StorePathRow* memory = Find(rows, kMemory, prefetch, warm);
  if (cluster == nullptr || memory == nullptr) {
    return absl::StrCat("- ", what, ": not measured in this run\n");
  }
  const FaultPathResult& c = cluster->result;
  const FaultPathResult& m = memory->result;
  if (by_latency) {
    const double ratio = Ratio(c.latency.p50_us, m.latency.p50_us);
    return absl::StrFormat(
        "- %s: p50 %.1f us vs %.1f us, %.2fx (goal at most %.1fx): %s\n", what,
        c.latency.p50_us, m.latency.p50_us, ratio, bound,
        Verdict(ratio <= bound));
  }
  const double ratio = Ratio(c.pages_per_second, m.pages_per_second);
  return absl::StrFormat(
      "- %s: %.0f vs %.0f pages/s, %.2fx (goal at least %.1fx): %s\n", what,
      c.pages_per_second, m.pages_per_second, ratio, bound,
      Verdict(ratio >= bound));
}

}  // namespace

std::string StorePathMarkdown(const std::vector<StorePathRow>& rows,
                              const FaultPathResult& limit) {
  std::string out = absl::StrFormat(
      "In-process limit in the same run: p50 %.1f us, p99 %.1f us, %.0f "
      "pages/s.\n\n"
      "| store | prefetch | cache | p50 us | p99 us | pages/s | p50 vs "
      "memory | pages/s vs memory | p50 vs limit | pages/s vs limit |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n",
      limit.latency.p50_us, limit.latency.p99_us, limit.pages_per_second);
  for (const StorePathRow& row : rows) {
    const FaultPathResult& r = row.result;
    const FaultPathResult& m = MemoryFor(rows, row).result;
    absl::StrAppendFormat(
        &out,
        "| %s | %s | %s | %.1f | %.1f | %.0f | %.2f | %.2f | %.2f | "
        "%.2f |\n",
        row.backend, row.prefetch ? absl::StrCat(r.spec.prefetch) : "none",
        row.warm ? "warm" : "cold", r.latency.p50_us, r.latency.p99_us,
        r.pages_per_second, Ratio(r.latency.p50_us, m.latency.p50_us),
        Ratio(r.pages_per_second, m.pages_per_second),
        Ratio(r.latency.p50_us, limit.latency.p50_us),
        Ratio(r.pages_per_second, limit.pages_per_second));
  }
  absl::StrAppend(
      &out, "\nGoals (Redis cluster against the in-memory store):\n",
      Goal(rows, "cold single fault", false, false, true, 1.5),
      Goal(rows, "cold, 16-page window prefetch", true, false, false, 0.8),
      Goal(rows, "warm cache, single fault (equal: within 10%)", false, true,
           true, 1.1),
      Goal(rows, "warm cache, 16-page window prefetch (equal: within 10%)",
           true, true, false, 0.9));
  return out;
}

std::string StorePathCsv(const std::vector<StorePathRow>& rows,
                         const FaultPathResult& limit) {
  std::string out =
      "store,prefetch,cache,pages,seconds,faults,retries,p50_us,p99_us,"
      "p999_us,pages_per_second,p50_vs_memory,pages_per_second_vs_memory,"
      "p50_vs_limit,pages_per_second_vs_limit\n";
  for (const StorePathRow& row : rows) {
    const FaultPathResult& r = row.result;
    const FaultPathResult& m = MemoryFor(rows, row).result;
    absl::StrAppendFormat(
        &out,
        "%s,%u,%s,%u,%.4f,%u,%u,%.2f,%.2f,%.2f,%.1f,%.4f,%.4f,%.4f,%.4f\n",
        row.backend, row.prefetch ? r.spec.prefetch : 0,
        row.warm ? "warm" : "cold", r.pages, r.seconds, r.counts.faults,
        r.counts.retries, r.latency.p50_us, r.latency.p99_us, r.latency.p999_us,
        r.pages_per_second, Ratio(r.latency.p50_us, m.latency.p50_us),
        Ratio(r.pages_per_second, m.pages_per_second),
        Ratio(r.latency.p50_us, limit.latency.p50_us),
        Ratio(r.pages_per_second, limit.pages_per_second));
  }
  return out;
}

}  // namespace faultline::bench
