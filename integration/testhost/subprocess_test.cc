#include "integration/testhost/subprocess.h"

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
      Child::Spawn({"sleep", "600"}, /*own_process_group=*/true);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_FALSE((*child)->Poll().value().has_value());
  EXPECT_EQ((*child)->KillAndReap().value(), 128 + 9);
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
