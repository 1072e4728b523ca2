#include "vmm/run_report.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;

RunReport Linux() {
  RunReport report;
  report.boot_format = "linux";
  report.loader_pages = 3441;
  report.build_seconds = 0.5;
  report.first_user_output_seconds = 12.25;
  report.run_seconds = 14;
  report.end = "power_off";
  report.exit_status = 3;
  return report;
}

TEST(RunReportTest, SummarySaysWhatTheGuestDid) {
  const std::string text = RunReportSummary(Linux());
  EXPECT_THAT(text, HasSubstr("guest linux: 3441 pages installed"));
  EXPECT_THAT(text, HasSubstr("first user-space output after 12.25s"));
  EXPECT_THAT(text, HasSubstr("ended: power_off (exit status 3)"));
  RunReport quiet = Linux();
  quiet.first_user_output_seconds.reset();
  EXPECT_THAT(RunReportSummary(quiet), HasSubstr("no user-space output"));
}

TEST(RunReportTest, JsonGetsAGuestMember) {
  const std::string merged =
      MergeRunReportJson("{\"faults\":5,\"answers\":{\"zero\":5}}\n", Linux());
  EXPECT_EQ(merged,
            "{\"faults\":5,\"answers\":{\"zero\":5},\"guest\":{\"format\":"
            "\"linux\",\"loader_pages\":3441,\"build_seconds\":0.500,"
            "\"first_user_output_seconds\":12.250,\"run_seconds\":14.000,"
            "\"end\":\"power_off\",\"exit_status\":3,\"serial_input_bytes\":0}"
            "}\n");
  RunReport quiet = Linux();
  quiet.first_user_output_seconds.reset();
  EXPECT_THAT(MergeRunReportJson("{}", quiet),
              HasSubstr("{\"guest\":{\"format\":\"linux\""));
  EXPECT_THAT(MergeRunReportJson("{}", quiet),
              HasSubstr("\"first_user_output_seconds\":null"));
}

}  // namespace
}  // namespace faultline::vmm
