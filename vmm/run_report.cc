#include "vmm/run_report.h"

#include "absl/strings/str_format.h"

namespace faultline::vmm {

std::string RunReportSummary(const RunReport& report) {
  const std::string first_output =
      report.first_user_output_seconds.has_value()
          ? absl::StrFormat("first user-space output after %.2fs",
                            *report.first_user_output_seconds)
          : "no user-space output";
  return absl::StrFormat(
      "vmm: guest %s: %u pages installed by the loader; built in %.2fs; %s; "
      "ran %.2fs; ended: %s (exit status %d)%s\n",
      report.boot_format, report.loader_pages, report.build_seconds,
      first_output, report.run_seconds, report.end, report.exit_status,
      report.serial_input_bytes > 0
          ? absl::StrFormat("; %u bytes of serial input",
                            report.serial_input_bytes)
          : "");
}

std::string MergeRunReportJson(const std::string& fault_json,
                               const RunReport& report) {
  const size_t close = fault_json.rfind('}');
  if (close == std::string::npos) return fault_json;
  const std::string first_output =
      report.first_user_output_seconds.has_value()
          ? absl::StrFormat("%.3f", *report.first_user_output_seconds)
          : "null";
  const std::string guest = absl::StrFormat(
      "\"guest\":{\"format\":\"%s\",\"loader_pages\":%u,"
      "\"build_seconds\":%.3f,\"first_user_output_seconds\":%s,"
      "\"run_seconds\":%.3f,\"end\":\"%s\",\"exit_status\":%d,"
      "\"serial_input_bytes\":%u}",
      report.boot_format, report.loader_pages, report.build_seconds,
      first_output, report.run_seconds, report.end, report.exit_status,
      report.serial_input_bytes);
  const bool empty_object = fault_json.find_first_not_of(" \n{") >= close;
  return fault_json.substr(0, close) + (empty_object ? "" : ",") + guest +
         fault_json.substr(close);
}

}  // namespace faultline::vmm
