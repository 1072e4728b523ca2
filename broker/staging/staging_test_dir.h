// For the staging tests: a fresh directory per test (removed after it) and
// whole pages of one byte. For tests only.
#ifndef FAULTLINE_BROKER_STAGING_STAGING_TEST_DIR_H_
#define FAULTLINE_BROKER_STAGING_STAGING_TEST_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "broker/staging/staging_area.h"
#include "gtest/gtest.h"

namespace faultline::broker::testing {

inline std::string Page(char fill) {
  return std::string(kStagingSlotBytes, fill);
}

class StagingTestDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/faultline-staging-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/faultline-staging-s1";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  // A staging file's path in dir_, not created.
  std::string path_;
};

}  // namespace faultline::broker::testing

#endif  // FAULTLINE_BROKER_STAGING_STAGING_TEST_DIR_H_
