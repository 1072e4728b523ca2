// The VMM's exit report: why the VM stopped and what its faults did, as text
// for people (stderr) and as JSON for tools (--stats_json). Besides the
// counters, the JSON carries "stop" (the stop kind, its message, the
// guest-physical page a fault stop is about, the guest's status) and
// "poisoned_pages" (each page with the error kind and the broker's
// message), so that tests check structured results rather than log lines.
//
// Threading: pure functions.
#ifndef FAULTLINE_VMM_EXIT_REPORT_H_
#define FAULTLINE_VMM_EXIT_REPORT_H_

#include <string>

#include "proto/faultline/v1/broker.pb.h"
#include "vmm/fault/fault_stats.h"
#include "vmm/stop/stop_reason.h"

namespace faultline::vmm {

// The reason's line, then the counters' lines; each line starts "vmm: ".
// Retry reasons and error kinds go by their v1::EnumWord ("over_quota").
std::string ExitReportText(const StopReason& reason,
                           const FaultCountersSnapshot& stats);
// One JSON object and a newline.
std::string ExitReportJson(const StopReason& reason,
                           const FaultCountersSnapshot& stats);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_EXIT_REPORT_H_
