#include "integration/testhost/subprocess.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace faultline::testhost {
namespace {

TEST(RunWithTimeoutTest, ReturnsTheExitStatus) {
  EXPECT_EQ(RunWithTimeout({"true"}, absl::Seconds(60)).value(), 0);
  EXPECT_EQ(RunWithTimeout({"sh", "-c", "exit 3"}, absl::Seconds(60)).value(),
            3);
}

TEST(RunWithTimeoutTest, KillsAChildThatOutlivesTheTimeout) {
  absl::StatusOr<int> status =
      RunWithTimeout({"sleep", "600"}, absl::Milliseconds(100));
  EXPECT_EQ(status.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(RunWithTimeoutTest, MissingProgramIsAnError) {
  EXPECT_FALSE(RunWithTimeout({"/no/such/program"}, absl::Seconds(60)).ok());
  EXPECT_FALSE(RunWithTimeout({}, absl::Seconds(60)).ok());
}

TEST(ChildTest, KillReportsTheSignal) {
  absl::StatusOr<std::unique_ptr<Child>> child =
      Child::Spawn({"sleep", "600"}, InOwnProcessGroup());
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_FALSE((*child)->Poll().value().has_value());
  EXPECT_EQ((*child)->KillAndReap().value(), 128 + 9);
}

TEST(ChildTest, OptionsSetTheEnvironmentAndTheOutputFile) {
  const std::string output =
      absl::StrCat(getenv("TEST_TMPDIR"), "/child_output.txt");
  ASSERT_EQ(setenv("SUBPROCESS_TEST_KEPT", "kept", 1), 0);
  ASSERT_EQ(setenv("SUBPROCESS_TEST_REPLACED", "old", 1), 0);
  SpawnOptions options;
  options.environment = {"SUBPROCESS_TEST_REPLACED=new",
                         "SUBPROCESS_TEST_ADDED=added"};
  options.output_path = output;
  absl::StatusOr<std::unique_ptr<Child>> child =
      Child::Spawn({"sh", "-c",
                    "echo $SUBPROCESS_TEST_KEPT $SUBPROCESS_TEST_REPLACED "
                    "$SUBPROCESS_TEST_ADDED; echo to-stderr >&2"},
                   options);
  ASSERT_TRUE(child.ok()) << child.status();
  std::optional<int> status;
  for (int i = 0; i < 500 && !status.has_value(); ++i) {
    status = (*child)->Poll().value();
    if (!status.has_value()) absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(status, 0);
  std::ifstream file(output);
  std::stringstream contents;
  contents << file.rdbuf();
  EXPECT_EQ(contents.str(), "kept new added\nto-stderr\n");
}

TEST(FindExecutableTest, SearchesThePathOnlyForBareNames) {
  EXPECT_EQ(FindExecutable("sh", "/nonexistent:/bin").value(), "/bin/sh");
  EXPECT_EQ(FindExecutable("sh", "/nonexistent").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(FindExecutable("/no/such/program", "/bin").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(FindExecutable("/etc/passwd", "").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(FindExecutable("", "/bin").ok());
}

}  // namespace
}  // namespace faultline::testhost
