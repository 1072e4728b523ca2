#include "vmm/transport/staging_slots.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class StagingSlotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/fl-staging-slots-XXXXXX";
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

  // An answer whose page is in `page_slot` and whose extra pages are in
  // `extra_slots`.
  static v1::FaultAnswer Staged(uint32_t page_slot,
                                std::vector<uint32_t> extra_slots = {}) {
    v1::FaultAnswer answer;
    answer.mutable_page()->set_staging_slot(page_slot);
    uint64_t offset = 0x1000;
    for (uint32_t slot : extra_slots) {
      v1::ExtraPage* extra = answer.add_extra_pages();
      extra->set_offset(offset += 0x1000);
      extra->set_staging_slot(slot);
    }
    return answer;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(StagingSlotsTest, PagesReadTheFileAndStayInside) {
  WriteArea(3);
  StagingSlots slots;
  v1::StagingArea grant = Grant(3);
  ASSERT_TRUE(slots.UseArea(&grant).ok());
  EXPECT_EQ(slots.slot_count(), 3u);
  absl::StatusOr<const uint8_t*> page = slots.Page(2);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ((*page)[0], 2);
  EXPECT_EQ((*page)[4095], 2);
  EXPECT_FALSE(slots.Page(3).ok());
}

TEST_F(StagingSlotsTest, RefusesWhatCannotBeAnArea) {
  WriteArea(2);
  StagingSlots slots;
  v1::StagingArea short_file = Grant(3);
  absl::Status status = slots.UseArea(&short_file);
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("less than its 3"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("--staging=off"));
  v1::StagingArea big_slots = Grant(2, 8192);
  EXPECT_THAT(std::string(slots.UseArea(&big_slots).message()),
              HasSubstr("8192 bytes"));
  v1::StagingArea none = Grant(0);
  EXPECT_FALSE(slots.UseArea(&none).ok());
  v1::StagingArea missing = Grant(1);
  missing.set_path(dir_ + "/none");
  status = slots.UseArea(&missing);
  // Gone (swept after its broker died) is worth attaching again.
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(dir_ + "/none"));
  EXPECT_EQ(slots.slot_count(), 0u) << "a refused area leaves none";
}

TEST_F(StagingSlotsTest, AnswersMayOnlyNameSlotsOfTheArea) {
  StagingSlots slots;
  EXPECT_THAT(std::string(slots.CheckAnswer(Staged(0)).message()),
              HasSubstr("no staging area was granted"));
  WriteArea(8);
  v1::StagingArea grant = Grant(8);
  ASSERT_TRUE(slots.UseArea(&grant).ok());
  EXPECT_TRUE(slots.CheckAnswer(Staged(7, {0, 6})).ok());
  absl::Status page = slots.CheckAnswer(Staged(8));
  EXPECT_TRUE(absl::IsInvalidArgument(page));
  EXPECT_THAT(std::string(page.message()),
              HasSubstr("the page is in staging slot 8, outside the area's 8"));
  EXPECT_THAT(std::string(slots.CheckAnswer(Staged(1, {2, 9})).message()),
              HasSubstr("extra page at 0x3000 is in staging slot 9"));
  v1::FaultAnswer inline_page;
  inline_page.mutable_page()->set_data(std::string(4096, 'x'));
  EXPECT_TRUE(StagingSlots().CheckAnswer(inline_page).ok());
}

TEST_F(StagingSlotsTest, ReleasesGoBackOnlyOnTheStreamThatCarriedThem) {
  WriteArea(100);
  StagingSlots slots;
  v1::StagingArea grant = Grant(100);
  ASSERT_TRUE(slots.UseArea(&grant).ok());
  slots.StreamOpened(1);
  EXPECT_FALSE(slots.Release(Staged(3, {4, 200})));  // 200: outside the area
  EXPECT_TRUE(slots.has_pending_releases());
  EXPECT_THAT(slots.TakeReleases(2), IsEmpty()) << "not stream 2's slots";
  EXPECT_THAT(slots.TakeReleases(1), ElementsAre(3, 4));
  EXPECT_THAT(slots.TakeReleases(1), IsEmpty());

  slots.Release(Staged(5));
  slots.StreamOpened(2);  // the broker freed stream 1's slots
  EXPECT_FALSE(slots.has_pending_releases());
  slots.Release(Staged(6));
  ASSERT_TRUE(slots.UseArea(&grant).ok());  // a new session forgets them too
  EXPECT_FALSE(slots.has_pending_releases());
}

TEST_F(StagingSlotsTest, ABatchOfReleasesAsksToBeSentAlone) {
  WriteArea(StagingSlots::kReleaseBatch);
  StagingSlots slots;
  v1::StagingArea grant = Grant(StagingSlots::kReleaseBatch);
  ASSERT_TRUE(slots.UseArea(&grant).ok());
  slots.StreamOpened(1);
  for (uint32_t slot = 0; slot + 1 < StagingSlots::kReleaseBatch; ++slot) {
    EXPECT_FALSE(slots.Release(Staged(slot)));
  }
  EXPECT_TRUE(slots.Release(Staged(StagingSlots::kReleaseBatch - 1)));
  EXPECT_EQ(slots.TakeReleases(1).size(), StagingSlots::kReleaseBatch);
}

}  // namespace
}  // namespace faultline::vmm
