// The side-by-side benchmark's figures: each row's repetitions reduced to
// the one with the median us per page, its ratios to the limit and to both
// CRIU rows of the same order, as a Markdown table, CSV and CDF points for
// the plot (peer_latency.gp).
#ifndef FAULTLINE_INTEGRATION_BENCH_PEER_REPORT_H_
#define FAULTLINE_INTEGRATION_BENCH_PEER_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "integration/bench/peer_row.h"
#include "integration/bench/touch_plan.h"

namespace faultline::bench {

struct PeerSummary {
  std::string label;
  std::string faults_source;
  TouchOrder order = TouchOrder::kSequential;
  uint64_t pages = 0;
  double us_per_page = 0;       // mean first-touch latency of the median run
  double wall_us_per_page = 0;  // its loop's wall time per page (probes too)
  uint64_t waited = 0;          // touches whose page was not resident
  uint64_t faults = 0;          // faults its server saw on the region
  double waited_p50_us = 0;     // of the touches that waited
  double waited_p99_us = 0;
  double p50_us = 0;  // of all touches
  double setup_seconds = 0;
  std::vector<double> us_per_page_runs;  // every repetition, in run order
  std::vector<int64_t> nanos;            // the median run's samples
  std::vector<int64_t> waited_nanos;     // of which the touches that waited
};

// Reduces one row's repetitions (at least one) of one order.
PeerSummary SummarizePeerRuns(const std::string& label,
                              const std::string& faults_source,
                              TouchOrder order,
                              const std::vector<PeerRun>& runs);

std::string PeerMarkdown(const std::vector<PeerSummary>& rows);
std::string PeerCsv(const std::vector<PeerSummary>& rows);

// "LATENCY_US FRACTION" lines of the empirical CDF of `nanos`, at most about
// `points` of them plus every sample of the slowest 1%.
std::string CdfPoints(std::vector<int64_t> nanos, size_t points);

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_PEER_REPORT_H_
