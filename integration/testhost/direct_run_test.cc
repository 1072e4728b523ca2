#include "integration/testhost/direct_run.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace faultline::testhost {
namespace {

DirectRunOptions WithTimeout(absl::Duration timeout) {
  DirectRunOptions options;
  options.timeout = timeout;
  return options;
}

std::string Contents(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

TEST(RunDirectlyTest, ReturnsTheCommandsExitStatus) {
  absl::StatusOr<RunOutcome> outcome =
      RunDirectly({"sh", "-c", "exit 4"}, WithTimeout(absl::Seconds(60)));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->ending, RunOutcome::Ending::kExited);
  EXPECT_EQ(ExitStatusFor(*outcome), 4);
}

TEST(RunDirectlyTest, KillsTheWholeProcessGroupPastTheTimeout) {
  absl::StatusOr<RunOutcome> outcome = RunDirectly(
      {"sh", "-c", "sleep 600 & wait"}, WithTimeout(absl::Milliseconds(200)));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->ending, RunOutcome::Ending::kTimedOut);
  EXPECT_EQ(ExitStatusFor(*outcome), kExitTimedOut);
}

TEST(RunDirectlyTest, MissingProgramIsAnError) {
  EXPECT_FALSE(
      RunDirectly({"/no/such/program"}, WithTimeout(absl::Seconds(60))).ok());
}

// As in the test host: the command writes to $TESTHOST_RESULTS, and what it
// prints is the console.
TEST(RunDirectlyTest, KeepsTheResultsFolderAndTheConsole) {
  const std::string results = absl::StrCat(getenv("TEST_TMPDIR"), "/results");
  DirectRunOptions options = WithTimeout(absl::Seconds(60));
  options.results_dir = results;
  options.console_path = absl::StrCat(getenv("TEST_TMPDIR"), "/console.log");
  absl::StatusOr<RunOutcome> outcome = RunDirectly(
      {"sh", "-c", "echo table > \"$TESTHOST_RESULTS/guest.md\"; echo hi"},
      options);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(ExitStatusFor(*outcome), 0);
  EXPECT_EQ(Contents(results + "/guest.md"), "table\n");
  EXPECT_EQ(Contents(options.console_path), "hi\n");
}

TEST(RunDirectlyTest, WithoutAResultsFolderItGetsATemporaryOne) {
  const std::string seen = absl::StrCat(getenv("TEST_TMPDIR"), "/seen");
  absl::StatusOr<RunOutcome> outcome =
      RunDirectly({"sh", "-c",
                   absl::StrCat("test -d \"$TESTHOST_RESULTS\" && echo "
                                "\"$TESTHOST_RESULTS\" > ",
                                seen)},
                  WithTimeout(absl::Seconds(60)));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(ExitStatusFor(*outcome), 0);
  std::string folder = Contents(seen);
  ASSERT_FALSE(folder.empty());
  folder.pop_back();  // the newline
  EXPECT_NE(access(folder.c_str(), F_OK), 0) << folder << " was not removed";
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
