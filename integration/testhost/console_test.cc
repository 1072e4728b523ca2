#include "integration/testhost/console.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace faultline::testhost {
namespace {

class ConsoleFollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dir = getenv("TEST_TMPDIR");
    path_ = std::string(dir != nullptr ? dir : "/tmp") + "/console.log";
    std::ofstream(path_, std::ios::trunc).flush();
    ASSERT_EQ(pipe2(pipe_, O_NONBLOCK | O_CLOEXEC), 0);
  }
  void TearDown() override {
    close(pipe_[0]);
    close(pipe_[1]);
  }

  void Append(const std::string& text) {
    std::ofstream(path_, std::ios::app) << text;
  }

  std::string Drain() {
    std::string text;
    char buffer[256];
    ssize_t got;
    while ((got = read(pipe_[0], buffer, sizeof(buffer))) > 0) {
      text.append(buffer, static_cast<size_t>(got));
    }
    return text;
  }

  std::string path_;
  int pipe_[2] = {-1, -1};
};

TEST_F(ConsoleFollowerTest, CopiesOnlyWhatWasAddedSinceTheLastPump) {
  absl::StatusOr<std::unique_ptr<ConsoleFollower>> console =
      ConsoleFollower::Create(path_, pipe_[1]);
  ASSERT_TRUE(console.ok()) << console.status();
  ASSERT_TRUE((*console)->Pump().ok());
  EXPECT_EQ(Drain(), "");
  Append("booting\n");
  ASSERT_TRUE((*console)->Pump().ok());
  EXPECT_EQ(Drain(), "booting\n");
  Append("running\n");
  ASSERT_TRUE((*console)->Pump().ok());
  ASSERT_TRUE((*console)->Pump().ok());
  EXPECT_EQ(Drain(), "running\n");
}

TEST_F(ConsoleFollowerTest, FollowsATruncatedFileFromItsStart) {
  absl::StatusOr<std::unique_ptr<ConsoleFollower>> console =
      ConsoleFollower::Create(path_, pipe_[1]);
  ASSERT_TRUE(console.ok()) << console.status();
  Append("old contents\n");
  ASSERT_TRUE((*console)->Pump().ok());
  Drain();
  std::ofstream(path_, std::ios::trunc) << "new\n";
  ASSERT_TRUE((*console)->Pump().ok());
  EXPECT_EQ(Drain(), "new\n");
}

TEST_F(ConsoleFollowerTest, WaitsForAFileThatDoesNotExistYet) {
  const std::string later = path_ + ".later";
  absl::StatusOr<std::unique_ptr<ConsoleFollower>> console =
      ConsoleFollower::Create(later, pipe_[1]);
  ASSERT_TRUE(console.ok()) << console.status();
  ASSERT_TRUE((*console)->Pump().ok());
  std::ofstream(later) << "created\n";
  ASSERT_TRUE((*console)->Pump().ok());
  EXPECT_EQ(Drain(), "created\n");
}

TEST_F(ConsoleFollowerTest, FollowsAFileReplacedByANewOne) {
  absl::StatusOr<std::unique_ptr<ConsoleFollower>> console =
      ConsoleFollower::Create(path_, pipe_[1]);
  ASSERT_TRUE(console.ok()) << console.status();
  Append("a long first life\n");
  ASSERT_TRUE((*console)->Pump().ok());
  Drain();
  ASSERT_EQ(unlink(path_.c_str()), 0);
  std::ofstream(path_) << "second\n";
  ASSERT_TRUE((*console)->Pump().ok());
  EXPECT_EQ(Drain(), "second\n");
}

TEST_F(ConsoleFollowerTest, BrokenOutputIsAnError) {
  absl::StatusOr<std::unique_ptr<ConsoleFollower>> console =
      ConsoleFollower::Create(path_, /*output_fd=*/-1);
  ASSERT_TRUE(console.ok()) << console.status();
  Append("text\n");
  EXPECT_FALSE((*console)->Pump().ok());
}

}  // namespace
}  // namespace faultline::testhost
