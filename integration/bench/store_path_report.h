// The page-store benchmark's output: each store backend's single-fault
// latency and pages/s, cold and warm cache, with and without prefetch, as
// ratios to the in-memory store and to the in-process limit of the same
// run, and whether each of issue 14's goals is met.
#ifndef FAULTLINE_INTEGRATION_BENCH_STORE_PATH_REPORT_H_
#define FAULTLINE_INTEGRATION_BENCH_STORE_PATH_REPORT_H_

#include <string>
#include <vector>

#include "integration/bench/fault_path_run.h"

namespace faultline::bench {

struct StorePathRow {
  std::string backend;  // "memory", "redis standalone", "redis cluster"
  bool prefetch = false;
  bool warm = false;  // the second read of the same store: cache warm
  FaultPathResult result;
};

// `limit` is the local handler's result for the same order and threads.
std::string StorePathMarkdown(const std::vector<StorePathRow>& rows,
                              const FaultPathResult& limit);
std::string StorePathCsv(const std::vector<StorePathRow>& rows,
                         const FaultPathResult& limit);

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_STORE_PATH_REPORT_H_
