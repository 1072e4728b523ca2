// The parts of a test host run that need no VM; booting is covered by the
// boot_*_test targets.
#include "integration/testhost/test_host.h"

#include <unistd.h>

#include <algorithm>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace faultline::testhost {
namespace {

// Runs `body` with the working directory set to `dir`, then restores it.
template <typename Body>
void InDirectory(const std::string& dir, Body body) {
  char* previous = getcwd(nullptr, 0);
  ASSERT_NE(previous, nullptr);
  ASSERT_EQ(chdir(dir.c_str()), 0) << dir;
  body();
  ASSERT_EQ(chdir(previous), 0);
  free(previous);
}

TEST(DescribeCommandTest, CapturesDirectoryAndEnvironment) {
  setenv("TESTHOST_UNIT_MARKER", "42", 1);
  InDirectory("/usr", [] {
    absl::StatusOr<CommandSpec> spec = DescribeCommand({"sh", "-c", "true"});
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_EQ(spec->argv, (std::vector<std::string>{"sh", "-c", "true"}));
    EXPECT_EQ(spec->working_dir, "/usr");
    const auto& environment = spec->environment;
    EXPECT_NE(std::find(environment.begin(), environment.end(),
                        "TESTHOST_UNIT_MARKER=42"),
              environment.end());
    EXPECT_NE(std::find(environment.begin(), environment.end(), "TMPDIR=/tmp"),
              environment.end());
  });
}

TEST(DescribeCommandTest, MissingCommandIsNotFound) {
  EXPECT_EQ(DescribeCommand({"no-such-command-anywhere"}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(DescribeCommand({}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DescribeCommandTest, RefusesPathsTheTestHostHides) {
  InDirectory("/tmp", [] {
    absl::StatusOr<CommandSpec> spec = DescribeCommand({"/bin/true"});
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_TRUE(absl::StrContains(spec.status().message(), "under /tmp"));
  });
}

TEST(NewDomainNameTest, IsPrefixedAndDiffersBetweenCalls) {
  const std::string first = NewDomainName();
  EXPECT_TRUE(absl::StartsWith(first, kDomainNamePrefix)) << first;
  EXPECT_NE(first, NewDomainName());
}

}  // namespace
}  // namespace faultline::testhost
