#include "broker/staging/session_staging.h"

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "broker/staging/staging_test_dir.h"
#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

using testing::Page;

class SessionStagingTest : public testing::StagingTestDir {
 protected:
  std::unique_ptr<StagingArea> Area(uint32_t slots) {
    auto area = SessionStaging::CreateArea(dir_, "5e55", slots);
    EXPECT_TRUE(area.ok()) << area.status();
    return area.ok() ? *std::move(area) : nullptr;
  }

  static google::protobuf::RepeatedField<uint32_t> Slots(
      std::initializer_list<uint32_t> slots) {
    google::protobuf::RepeatedField<uint32_t> field;
    for (uint32_t slot : slots) field.Add(slot);
    return field;
  }
};

TEST_F(SessionStagingTest, StagesAnswersIntoSlotsAndFallsBackInline) {
  StagingTotals broker;
  SessionStaging staging("5e55", Area(2), &broker);
  ASSERT_NE(staging.area(), nullptr);
  std::shared_ptr<StreamSlots> stream = staging.OpenStream();
  v1::FaultAnswer answer;
  answer.mutable_page()->set_data(Page('p'));
  for (char fill : {'x', 'y'}) answer.add_extra_pages()->set_data(Page(fill));
  answer.add_extra_pages()->mutable_zero();
  stream->Stage(&answer);

  ASSERT_TRUE(answer.page().has_staging_slot());
  EXPECT_EQ(staging.area()->SlotBytes(answer.page().staging_slot()), Page('p'));
  ASSERT_TRUE(answer.extra_pages(0).has_staging_slot());
  EXPECT_EQ(staging.area()->SlotBytes(answer.extra_pages(0).staging_slot()),
            Page('x'));
  // No slot left: the second extra page stays inline, the zero stays zero.
  EXPECT_EQ(answer.extra_pages(1).data(), Page('y'));
  EXPECT_TRUE(answer.extra_pages(2).has_zero());

  v1::StagingCounters session;
  staging.ToProto(&session);
  EXPECT_EQ(session.staged_pages(), 2u);
  EXPECT_EQ(session.inline_pages(), 1u);
  EXPECT_EQ(session.slot_count(), 2u);
  EXPECT_EQ(session.slots_held(), 2u);
  EXPECT_EQ(broker.staged_pages.load(), 2u);
  EXPECT_EQ(broker.inline_pages.load(), 1u);

  stream->Release(Slots({answer.page().staging_slot()}));
  staging.ToProto(&session);
  EXPECT_EQ(session.slots_held(), 1u);
  EXPECT_EQ(session.refused_releases(), 0u);
}

TEST_F(SessionStagingTest, BadReleasesAreCountedAndChangeNothing) {
  StagingTotals broker;
  SessionStaging staging("5e55", Area(2), &broker);
  std::shared_ptr<StreamSlots> old_stream = staging.OpenStream();
  v1::FaultAnswer answer;
  answer.mutable_page()->set_data(Page('o'));
  old_stream->Stage(&answer);
  const uint32_t held = answer.page().staging_slot();

  // The old stream's slot is not the new stream's to give; the old stream
  // may, until it ends.
  std::shared_ptr<StreamSlots> stream = staging.OpenStream();
  stream->Release(Slots({held}));
  old_stream->Release(Slots({held}));
  // Outside the area, never sent, released twice.
  stream->Release(Slots({7, 0, 0}));
  v1::StagingCounters counters;
  staging.ToProto(&counters);
  EXPECT_EQ(counters.refused_releases(), 4u);
  EXPECT_EQ(counters.slots_held(), 0u);
  EXPECT_EQ(broker.refused_releases.load(), 4u);
}

TEST_F(SessionStagingTest, AnEndedStreamsSlotsAreFreeAndItStagesNoMore) {
  SessionStaging staging("5e55", Area(1), nullptr);
  std::shared_ptr<StreamSlots> old_stream = staging.OpenStream();
  v1::FaultAnswer answer;
  answer.mutable_page()->set_data(Page('o'));
  old_stream->Stage(&answer);
  ASSERT_TRUE(answer.page().has_staging_slot());
  std::shared_ptr<StreamSlots> stream = staging.OpenStream();
  v1::FaultAnswer full;
  full.mutable_page()->set_data(Page('n'));
  stream->Stage(&full);
  EXPECT_TRUE(full.page().has_data()) << "the old stream still holds the slot";
  old_stream->End();
  v1::FaultAnswer staged;
  staged.mutable_page()->set_data(Page('n'));
  stream->Stage(&staged);
  EXPECT_TRUE(staged.page().has_staging_slot());
  stream->End();
  v1::StagingCounters counters;
  staging.ToProto(&counters);
  EXPECT_EQ(counters.slots_held(), 0u);
}

TEST_F(SessionStagingTest,
       WithoutAnAreaAnswersStayInlineAndReleasesAreRefused) {
  StagingTotals broker;
  SessionStaging staging("5e55", nullptr, &broker);
  std::shared_ptr<StreamSlots> stream = staging.OpenStream();
  v1::FaultAnswer answer;
  answer.mutable_page()->set_data(Page('i'));
  stream->Stage(&answer);
  EXPECT_EQ(answer.page().data(), Page('i'));
  stream->Release(Slots({0}));
  v1::StagingCounters counters;
  staging.ToProto(&counters);
  EXPECT_EQ(counters.staged_pages(), 0u);
  EXPECT_EQ(counters.inline_pages(), 0u);
  EXPECT_EQ(counters.refused_releases(), 1u);
  EXPECT_EQ(counters.slot_count(), 0u);
  // No broker-wide counters: the session's alone still count.
  SessionStaging alone("5e55", nullptr, nullptr);
  alone.OpenStream()->Release(Slots({1}));
  alone.ToProto(&counters);
  EXPECT_EQ(counters.refused_releases(), 1u);
}

}  // namespace
}  // namespace faultline::broker
