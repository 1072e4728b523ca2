// The host fault-path benchmark's output: a Markdown table for people and
// CSV for the plot and the report. Every figure is also given as a ratio to
// the limit (the local handler) of the same touch order and thread count.
#ifndef FAULTLINE_INTEGRATION_BENCH_FAULT_PATH_REPORT_H_
#define FAULTLINE_INTEGRATION_BENCH_FAULT_PATH_REPORT_H_

#include <string>
#include <vector>

#include "integration/bench/fault_path_run.h"

namespace faultline::bench {

// "stream+prefetch/unix", "local".
std::string ModeLabel(const FaultPathSpec& spec);

std::string FaultPathMarkdown(const std::vector<FaultPathResult>& results);
std::string FaultPathCsv(const std::vector<FaultPathResult>& results);

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_FAULT_PATH_REPORT_H_
