#include "integration/bench/touch_plan.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"

namespace faultline::bench {

absl::StatusOr<TouchOrder> ParseTouchOrder(const std::string& name) {
  if (name == "sequential") return TouchOrder::kSequential;
  if (name == "strided") return TouchOrder::kStrided;
  if (name == "random") return TouchOrder::kRandom;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown touch order '", name, "' (sequential, strided, random)"));
}

const char* TouchOrderName(TouchOrder order) {
  switch (order) {
    case TouchOrder::kSequential:
      return "sequential";
    case TouchOrder::kStrided:
      return "strided";
    case TouchOrder::kRandom:
      return "random";
  }
  return "unknown";
}

std::vector<uint64_t> PagesForThread(const TouchPlanOptions& options,
                                     int thread) {
  const uint64_t threads = static_cast<uint64_t>(std::max(options.threads, 1));
  const uint64_t share = options.total_pages / threads;
  const uint64_t first = share * static_cast<uint64_t>(thread);
  // The last thread also takes the remainder.
  const uint64_t count = static_cast<uint64_t>(thread) + 1 == threads
                             ? options.total_pages - first
                             : share;
  std::vector<uint64_t> pages;
  pages.reserve(count);
  switch (options.order) {
    case TouchOrder::kSequential:
      for (uint64_t i = 0; i < count; ++i) pages.push_back(first + i);
      break;
    case TouchOrder::kStrided: {
      const uint64_t stride = std::max<uint64_t>(options.stride_pages, 1);
      for (uint64_t lane = 0; lane < stride; ++lane) {
        for (uint64_t i = lane; i < count; i += stride) {
          pages.push_back(first + i);
        }
      }
      break;
    }
    case TouchOrder::kRandom: {
      for (uint64_t i = 0; i < count; ++i) pages.push_back(first + i);
      std::mt19937_64 random(options.seed * 1000003 +
                             static_cast<uint64_t>(thread));
      std::shuffle(pages.begin(), pages.end(), random);
      break;
    }
  }
  return pages;
}

}  // namespace faultline::bench
