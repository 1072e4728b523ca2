#include "integration/testhost/results_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "integration/testhost/command_script.h"

namespace faultline::testhost {
namespace {

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

std::string TestDir() {
  const char* dir = getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

TEST(ResultsDirTest, TemporaryFolderIsRemovedWithItsFiles) {
  std::string path;
  {
    absl::StatusOr<std::unique_ptr<ResultsDir>> results =
        ResultsDir::Create("");
    ASSERT_TRUE(results.ok()) << results.status();
    path = (*results)->path();
    ASSERT_TRUE((*results)->WriteFile("console.log", "text").ok());
    ASSERT_EQ(mkdir((path + "/sub").c_str(), 0755), 0);
    ASSERT_TRUE(Exists(path + "/console.log"));
  }
  EXPECT_FALSE(Exists(path));
}

TEST(ResultsDirTest, KeptFolderLosesOnlyTheFilesOfAnEarlierRun) {
  const std::string path = TestDir() + "/kept";
  {
    absl::StatusOr<std::unique_ptr<ResultsDir>> first =
        ResultsDir::Create(path);
    ASSERT_TRUE(first.ok()) << first.status();
    ASSERT_TRUE((*first)->WriteFile(kExitStatusName, "3\n").ok());
    ASSERT_TRUE((*first)->WriteFile("broker.log", "kept").ok());
  }
  absl::StatusOr<std::unique_ptr<ResultsDir>> second = ResultsDir::Create(path);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE((*second)->ReadFile(kExitStatusName).value().has_value());
  EXPECT_EQ((*second)->ReadFile("broker.log").value(), "kept");
  second->reset();
  EXPECT_TRUE(Exists(path + "/broker.log"));
}

TEST(ResultsDirTest, UncreatableFolderIsAnError) {
  EXPECT_FALSE(ResultsDir::Create("/proc/no/such/place").ok());
}

}  // namespace
}  // namespace faultline::testhost
