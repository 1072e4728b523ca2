// What a toucher in another process (criu_toucher, restored by CRIU) hands
// back to the harness: where its region was mapped, whether every page held
// the right bytes, and the first-touch run. A small text file, checked line
// by line when read, since it crosses a process boundary.
#ifndef FAULTLINE_INTEGRATION_BENCH_TOUCH_RECORD_H_
#define FAULTLINE_INTEGRATION_BENCH_TOUCH_RECORD_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "integration/bench/first_touch.h"

namespace faultline::bench {

struct TouchRecord {
  uint64_t region_address = 0;  // in the toucher's address space
  uint64_t region_pages = 0;
  uint64_t mismatched_pages = 0;
  FirstTouchRun run;  // one entry per page of the region
};

std::string FormatTouchRecord(const TouchRecord& record);
absl::StatusOr<TouchRecord> ParseTouchRecord(absl::string_view text);

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_TOUCH_RECORD_H_
