#include "vmm/fault/staging_mapping.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;

class StagingMappingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/fl-staging-map-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/area";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A file of `slots` pages, page i filled with byte i.
  void WriteArea(uint32_t slots) {
    std::ofstream out(path_, std::ios::binary);
    for (uint32_t i = 0; i < slots; ++i) {
      out << std::string(4096, static_cast<char>(i));
    }
  }

  v1::StagingArea Grant(uint32_t slots, uint32_t slot_size = 4096) {
    v1::StagingArea area;
    area.set_path(path_);
    area.set_slot_count(slots);
    area.set_slot_size(slot_size);
    return area;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(StagingMappingTest, SlotsReadTheFileAndStayInside) {
  WriteArea(3);
  auto mapping = StagingMapping::Open(Grant(3));
  ASSERT_TRUE(mapping.ok()) << mapping.status();
  EXPECT_EQ((*mapping)->slot_count(), 3u);
  ASSERT_NE((*mapping)->Slot(2), nullptr);
  EXPECT_EQ((*mapping)->Slot(2)[0], 2);
  EXPECT_EQ((*mapping)->Slot(2)[4095], 2);
  EXPECT_EQ((*mapping)->Slot(3), nullptr);
}

TEST_F(StagingMappingTest, RefusesWhatCannotBeAnArea) {
  WriteArea(2);
  EXPECT_THAT(std::string(StagingMapping::Open(Grant(3)).status().message()),
              HasSubstr("less than its 3 slots"));
  EXPECT_THAT(
      std::string(StagingMapping::Open(Grant(2, 8192)).status().message()),
      HasSubstr("8192 bytes"));
  EXPECT_FALSE(StagingMapping::Open(Grant(0)).ok());
  v1::StagingArea missing = Grant(1);
  missing.set_path(dir_ + "/none");
  absl::Status status = StagingMapping::Open(missing).status();
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(dir_ + "/none"));
}

}  // namespace
}  // namespace faultline::vmm
