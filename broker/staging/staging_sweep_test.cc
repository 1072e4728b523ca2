#include "broker/staging/staging_sweep.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker/staging/staging_area.h"
#include "broker/staging/staging_test_dir.h"
#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

using testing::Page;
using StagingSweepTest = testing::StagingTestDir;

// A file as a killed broker leaves it: named by StagingFilePath (another
// pid), full size, nobody holding its lock.
void MakeLeftover(const std::string& path, size_t bytes = kStagingSlotBytes) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(bytes)), 0);
  ::close(fd);
}

TEST_F(StagingSweepTest, FilePathNamesSessionAndPid) {
  EXPECT_EQ(StagingFilePath("/dev/shm", "00ff"),
            absl::StrCat("/dev/shm/faultline-staging-00ff@", ::getpid()));
}

TEST_F(StagingSweepTest, SweepRemovesLeftoversAndKeepsLiveAreas) {
  const std::string leftover = dir_ + "/faultline-staging-0123abcd@999999";
  MakeLeftover(leftover);
  auto live = StagingArea::Create(StagingFilePath(dir_, "feed"), 2);
  ASSERT_TRUE(live.ok()) << live.status();
  // Not staging files of this format: an older broker's name, a frame pool
  // named like one, a file still being created (size 0).
  const std::string older = dir_ + "/faultline-staging-0123abcd";
  const std::string pool = dir_ + "/faultline-staging-1-0123abcd";
  const std::string creating = dir_ + "/faultline-staging-beef@999999";
  MakeLeftover(older);
  MakeLeftover(pool);
  MakeLeftover(creating, 0);

  absl::StatusOr<int> swept = SweepLeftoverStagingFiles(dir_);
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_EQ(*swept, 1);
  EXPECT_FALSE(std::filesystem::exists(leftover));
  EXPECT_TRUE(std::filesystem::exists((*live)->path()));
  EXPECT_TRUE(std::filesystem::exists(older));
  EXPECT_TRUE(std::filesystem::exists(pool));
  EXPECT_TRUE(std::filesystem::exists(creating));
  // The live area still works after the sweep looked at it.
  const uint64_t epoch = (*live)->BeginEpoch();
  EXPECT_TRUE((*live)->Stage(Page('l'), epoch).has_value());
  EXPECT_EQ(SweepLeftoverStagingFiles(dir_).value_or(-1), 0);
}

TEST_F(StagingSweepTest, SweepOfAMissingDirectoryFails) {
  EXPECT_FALSE(SweepLeftoverStagingFiles(dir_ + "/nope").ok());
}

}  // namespace
}  // namespace faultline::broker
