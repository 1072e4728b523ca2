#include "vmm/exit_report.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

FaultCountersSnapshot Counters() {
  FaultCountersSnapshot s;
  s.faults = 3;
  s.pages = 2;
  s.zeros = 1;
  s.errors = 1;
  s.poisoned = 1;
  s.retries = 3;
  s.retries_by_reason[v1::RETRY_REASON_OVER_QUOTA] = 1;
  s.retries_by_reason[v1::RETRY_REASON_NOT_YET_AVAILABLE] = 2;
  s.poisoned_pages.push_back(
      {0xc07000, v1::ERROR_KIND_BUS_ERROR, "disk \"on\" fire"});
  return s;
}

TEST(ExitReportTest, TextSaysWhyAndCounts) {
  const std::string text = ExitReportText(
      {StopKind::kGuestExit, 4, "the guest exited with status 4", std::nullopt},
      Counters());
  EXPECT_THAT(text, StartsWith("vmm: the guest exited with status 4\n"));
  EXPECT_THAT(text, HasSubstr("page 2, zero 1"));
  EXPECT_THAT(text, HasSubstr("error 1 (poisoned 1)"));
  EXPECT_THAT(text, HasSubstr("not_yet_available=2, over_quota=1"));
}

TEST(ExitReportTest, JsonCarriesTheStopAndThePoisonedPages) {
  const std::string json = ExitReportJson(
      {StopKind::kBrokerErrorAnswer, 0, "broker answered error", 0x201000},
      Counters());
  EXPECT_THAT(json, StartsWith("{\"faults\":3,"));
  EXPECT_THAT(json, HasSubstr("\"answers\":{\"page\":2,\"zero\":1,"));
  EXPECT_THAT(json, HasSubstr("\"retries_by_reason\":{\"not_yet_available\":2,"
                              "\"over_quota\":1}"));
  EXPECT_THAT(json, HasSubstr("\"stop\":{\"kind\":\"broker_error_answer\","
                              "\"message\":\"broker answered error\","
                              "\"page\":2101248}"));
  EXPECT_THAT(json, HasSubstr("\"poisoned_pages\":[{\"page\":12611584,"
                              "\"kind\":\"bus_error\",\"message\":\"disk "
                              "\\\"on\\\" fire\"}]"));
  EXPECT_THAT(json, EndsWith("}\n"));

  const std::string exited = ExitReportJson(
      {StopKind::kGuestExit, 4, "exited", std::nullopt}, Counters());
  EXPECT_THAT(exited, HasSubstr("\"stop\":{\"kind\":\"guest_exit\","
                                "\"message\":\"exited\",\"guest_status\":4}"));
}

}  // namespace
}  // namespace faultline::vmm
