// Which pages each toucher thread (standing in for a vCPU) visits, in what
// order. Pages are split into one contiguous share per thread, as vCPUs
// working on their own data would, then visited in the chosen order.
#ifndef FAULTLINE_INTEGRATION_BENCH_TOUCH_PLAN_H_
#define FAULTLINE_INTEGRATION_BENCH_TOUCH_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace faultline::bench {

enum class TouchOrder {
  kSequential,  // page 0, 1, 2, ...: what prefetch is for
  kStrided,     // every stride-th page, then the next lane: defeats prefetch
  kRandom,      // a seeded shuffle
};

absl::StatusOr<TouchOrder> ParseTouchOrder(const std::string& name);
const char* TouchOrderName(TouchOrder order);

struct TouchPlanOptions {
  uint64_t total_pages = 0;
  int threads = 1;
  TouchOrder order = TouchOrder::kSequential;
  uint64_t stride_pages = 16;
  uint64_t seed = 1;
};

// Page indexes (into the region) for `thread`; every page of the region is
// in exactly one thread's plan.
std::vector<uint64_t> PagesForThread(const TouchPlanOptions& options,
                                     int thread);

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_TOUCH_PLAN_H_
