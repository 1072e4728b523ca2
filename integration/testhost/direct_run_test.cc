#include "integration/testhost/direct_run.h"

#include "gtest/gtest.h"

namespace faultline::testhost {
namespace {

TEST(RunDirectlyTest, ReturnsTheCommandsExitStatus) {
  absl::StatusOr<RunOutcome> outcome =
      RunDirectly({"sh", "-c", "exit 4"}, absl::Seconds(60));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->ending, RunOutcome::Ending::kExited);
  EXPECT_EQ(ExitStatusFor(*outcome), 4);
}

TEST(RunDirectlyTest, KillsTheWholeProcessGroupPastTheTimeout) {
  absl::StatusOr<RunOutcome> outcome =
      RunDirectly({"sh", "-c", "sleep 600 & wait"}, absl::Milliseconds(200));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->ending, RunOutcome::Ending::kTimedOut);
  EXPECT_EQ(ExitStatusFor(*outcome), kExitTimedOut);
}

TEST(RunDirectlyTest, MissingProgramIsAnError) {
  EXPECT_FALSE(RunDirectly({"/no/such/program"}, absl::Seconds(60)).ok());
}

TEST(ExitStatusForTest, MapsEveryEnding) {
  RunOutcome interrupted;
  interrupted.ending = RunOutcome::Ending::kInterrupted;
  interrupted.signal = 15;
  EXPECT_EQ(ExitStatusFor(interrupted), 143);
  RunOutcome exited;
  exited.exit_status = 9;
  EXPECT_EQ(ExitStatusFor(exited), 9);
}

}  // namespace
}  // namespace faultline::testhost
