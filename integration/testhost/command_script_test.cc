#include "integration/testhost/command_script.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "integration/testhost/subprocess.h"

namespace faultline::testhost {
namespace {

std::string TestDir() {
  const char* dir = getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// Runs the generated script with sh, as init.sh does inside the chroot.
int RunScript(const std::string& script) {
  const std::string path = TestDir() + "/run.sh";
  std::ofstream(path) << script;
  absl::StatusOr<int> status =
      RunWithTimeout({"/bin/sh", path}, absl::Seconds(60));
  EXPECT_TRUE(status.ok()) << status.status();
  return status.ok() ? *status : -1;
}

TEST(ShellQuoteTest, QuotesSingleQuotesAndSpecialCharacters) {
  EXPECT_EQ(ShellQuote("plain"), "'plain'");
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("it's $HOME `x`"), "'it'\\''s $HOME `x`'");
}

TEST(GuestEnvironmentTest, PointsScratchSpaceAtTheWritableTmp) {
  std::vector<std::string> environment =
      GuestEnvironment({"PATH=/usr/bin", "TMPDIR=/var/x", "TEST_TMPDIR=/y",
                        "NOEQUALS", "=empty-name", "EMPTY="});
  EXPECT_EQ(environment,
            (std::vector<std::string>{
                "PATH=/usr/bin", "EMPTY=", "TMPDIR=/tmp", "TEST_TMPDIR=/tmp",
                "TESTHOST_RESULTS=/tmp/testhost-results"}));
}

TEST(BuildRunScriptTest,
     RunsTheCommandInItsDirectoryWithExactlyItsEnvironment) {
  const std::string output = TestDir() + "/output";
  CommandSpec spec;
  spec.argv = {"/bin/sh", "-c",
               "printf '%s|%s|%s|%s' \"$1\" \"$GREETING\" \"$(pwd)\" "
               "\"${HOME-unset}\" > \"$OUT\"",
               "sh", "two words 'quoted' $NOT_EXPANDED"};
  spec.working_dir = "/usr";
  spec.environment = {"GREETING=hello; world", "OUT=" + output};
  absl::StatusOr<std::string> script = BuildRunScript(spec);
  ASSERT_TRUE(script.ok()) << script.status();
  EXPECT_EQ(RunScript(*script), 0);
  EXPECT_EQ(ReadAll(output),
            "two words 'quoted' $NOT_EXPANDED|hello; world|/usr|unset");
}

TEST(BuildRunScriptTest, PassesTheExitStatusThrough) {
  CommandSpec spec;
  spec.argv = {"/bin/sh", "-c", "exit 7"};
  spec.working_dir = "/";
  absl::StatusOr<std::string> script = BuildRunScript(spec);
  ASSERT_TRUE(script.ok()) << script.status();
  EXPECT_EQ(RunScript(*script), 7);
}

TEST(BuildRunScriptTest, MissingCommandAndDirectoryHaveDistinctStatuses) {
  CommandSpec missing_command;
  missing_command.argv = {"/no/such/program"};
  missing_command.working_dir = "/";
  absl::StatusOr<std::string> script = BuildRunScript(missing_command);
  ASSERT_TRUE(script.ok()) << script.status();
  EXPECT_EQ(RunScript(*script), 127);

  CommandSpec missing_directory;
  missing_directory.argv = {"/bin/true"};
  missing_directory.working_dir = "/no/such/directory";
  script = BuildRunScript(missing_directory);
  ASSERT_TRUE(script.ok()) << script.status();
  EXPECT_EQ(RunScript(*script), 125);
}

TEST(BuildRunScriptTest, RejectsBadSpecs) {
  CommandSpec empty;
  empty.working_dir = "/";
  EXPECT_EQ(BuildRunScript(empty).status().code(),
            absl::StatusCode::kInvalidArgument);

  CommandSpec relative;
  relative.argv = {"/bin/true"};
  relative.working_dir = "here";
  EXPECT_EQ(BuildRunScript(relative).status().code(),
            absl::StatusCode::kInvalidArgument);

  CommandSpec assignment;
  assignment.argv = {"A=B"};
  assignment.working_dir = "/";
  EXPECT_EQ(BuildRunScript(assignment).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseExitStatusTest, AcceptsOnlyAByte) {
  EXPECT_EQ(ParseExitStatus("7\n").value(), 7);
  EXPECT_EQ(ParseExitStatus("0").value(), 0);
  EXPECT_EQ(ParseExitStatus("255\n").value(), 255);
  EXPECT_FALSE(ParseExitStatus("").ok());
  EXPECT_FALSE(ParseExitStatus("256").ok());
  EXPECT_FALSE(ParseExitStatus("-1").ok());
  EXPECT_FALSE(ParseExitStatus("seven").ok());
}

}  // namespace
}  // namespace faultline::testhost
