// What the exit summary says about the guest beside the fault statistics:
// its boot format, the pages the loader installed, how long the build took,
// the time from starting the vCPUs to the guest's first user-space output
// (the first UART byte sent with the transmitter interrupt on: Linux's tty,
// not its polled console) and how the run ended. Text for people, and a
// "guest" object merged into the --stats_json document. Pure.
#ifndef FAULTLINE_VMM_RUN_REPORT_H_
#define FAULTLINE_VMM_RUN_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>

namespace faultline::vmm {

struct RunReport {
  std::string boot_format;  // payload, linux, multiboot
  uint64_t loader_pages = 0;
  double build_seconds = 0;
  std::optional<double> first_user_output_seconds;
  double run_seconds = 0;
  std::string end;  // StopKindName: guest_exit, power_off, reset, ...
  int exit_status = 0;
  uint64_t serial_input_bytes = 0;
};

std::string RunReportSummary(const RunReport& report);
// `fault_json` is one JSON object (ExitReportJson); the result is the
// same object with a "guest" member added.
std::string MergeRunReportJson(const std::string& fault_json,
                               const RunReport& report);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_RUN_REPORT_H_
