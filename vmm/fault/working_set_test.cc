#include "vmm/fault/working_set.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<v1::Region> Regions() {
  v1::Region ram;
  ram.set_region_id(1);
  ram.set_kind(v1::REGION_KIND_RAM);
  ram.set_size_bytes(16 * 4096);
  v1::Region device;
  device.set_region_id(2);
  device.set_kind(v1::REGION_KIND_DEVICE_MEMORY);
  device.set_size_bytes(16 * 4096);
  return {ram, device};
}

class WorkingSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/working-set-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/ws";
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  void WriteFile(const std::string& text) { std::ofstream(path_) << text; }
  std::string ErrorOf(const std::string& text) {
    WriteFile(text);
    return std::string(ReadWorkingSet(path_, Regions()).status().message());
  }

  std::string dir_;
  std::string path_;
};

TEST_F(WorkingSetTest, RecordsEachPageOnceInOrderAndReadsBack) {
  auto recorder = WorkingSetRecorder::Create(path_);
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  (*recorder)->Record(1, 0x3000);
  (*recorder)->Record(1, 0x1000);
  (*recorder)->Record(1, 0x3000);  // seen: dropped
  (*recorder)->Record(1, 0x2000);
  ASSERT_TRUE((*recorder)->Write().ok());
  auto pages = ReadWorkingSet(path_, Regions());
  ASSERT_TRUE(pages.ok()) << pages.status();
  EXPECT_THAT(*pages,
              ElementsAre(WorkingSetPage{1, 0x3000}, WorkingSetPage{1, 0x1000},
                          WorkingSetPage{1, 0x2000}));
}

TEST_F(WorkingSetTest, AnEmptyRecordIsJustTheHeader) {
  ASSERT_TRUE(WorkingSetRecorder::Create(path_).ok());
  auto pages = ReadWorkingSet(path_, Regions());
  ASSERT_TRUE(pages.ok());
  EXPECT_TRUE(pages->empty());
}

TEST_F(WorkingSetTest, BadFilesNameTheLine) {
  EXPECT_THAT(ErrorOf("not a working set\n1 0\n"), HasSubstr("line 1"));
  const std::string header = std::string(kWorkingSetHeader) + "\n";
  EXPECT_THAT(ErrorOf(header + "1 0\n1 zz\n"), HasSubstr("line 3"));
  EXPECT_THAT(ErrorOf(header + "1 1001\n"), HasSubstr("not a page"));
  EXPECT_THAT(ErrorOf(header + "1 10000\n"), HasSubstr("not a page"));
  EXPECT_THAT(ErrorOf(header + "2 0\n"), HasSubstr("not a RAM region"));
  EXPECT_THAT(ErrorOf(header + "9 0\n"), HasSubstr("not a RAM region"));
  EXPECT_THAT(ErrorOf(header + "1 0 7\n"), HasSubstr("line 2"));
  EXPECT_FALSE(ReadWorkingSet(dir_ + "/missing", Regions()).ok());
}

TEST_F(WorkingSetTest, AnUnwritablePathFailsAtCreate) {
  EXPECT_FALSE(WorkingSetRecorder::Create(dir_ + "/no/such/dir/ws").ok());
}

}  // namespace
}  // namespace faultline::vmm
