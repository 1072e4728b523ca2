#include "vmm/fault/fill_plan.h"

#include <set>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

constexpr uint64_t kPage = 4096;

using Resident = std::set<std::pair<uint32_t, uint64_t>>;

FillPlan::Resident In(const Resident& resident) {
  return [&resident](uint32_t region, uint64_t offset) {
    return resident.count({region, offset}) > 0;
  };
}

std::vector<FillRun> Drain(FillPlan& plan, const Resident& resident,
                           uint32_t max_pages) {
  std::vector<FillRun> runs;
  while (std::optional<FillRun> run = plan.Next(In(resident), max_pages)) {
    runs.push_back(*run);
  }
  return runs;
}

TEST(FillPlanTest, AddressOrderInRunsOfTheMaximum) {
  FillPlan plan({}, {{1, 10 * kPage}, {3, 2 * kPage}});
  EXPECT_THAT(
      Drain(plan, {}, 4),
      ::testing::ElementsAre(FillRun{1, 0, 4}, FillRun{1, 4 * kPage, 4},
                             FillRun{1, 8 * kPage, 2}, FillRun{3, 0, 2}));
}

TEST(FillPlanTest, ResidentPagesAreSkippedAndSplitRuns) {
  FillPlan plan({}, {{1, 8 * kPage}});
  const Resident resident = {{1, 0}, {1, 3 * kPage}, {1, 4 * kPage}};
  EXPECT_THAT(
      Drain(plan, resident, 64),
      ::testing::ElementsAre(FillRun{1, kPage, 2}, FillRun{1, 5 * kPage, 3}));
}

TEST(FillPlanTest, EverythingResidentMeansDone) {
  FillPlan plan({}, {{1, 2 * kPage}});
  EXPECT_FALSE(plan.Next(In({{1, 0}, {1, kPage}}), 64).has_value());
}

TEST(FillPlanTest, ReplayKeepsTheRecordedOrderAndOnlyJoinsNeighbours) {
  std::vector<WorkingSetPage> recorded = {{1, 9 * kPage},  {1, 10 * kPage},
                                          {1, 11 * kPage},  // one run
                                          {1, 2 * kPage},   // a jump back
                                          {1, 3 * kPage},  {1, 7 * kPage}};
  FillPlan plan(recorded, {});
  EXPECT_THAT(
      Drain(plan, {}, 64),
      ::testing::ElementsAre(FillRun{1, 9 * kPage, 3}, FillRun{1, 2 * kPage, 2},
                             FillRun{1, 7 * kPage, 1}));
}

TEST(FillPlanTest, ReplayThenAddressOrderForTheRest) {
  FillPlan plan({{1, 2 * kPage}}, {{1, 4 * kPage}});
  Resident resident;
  std::vector<FillRun> runs;
  while (std::optional<FillRun> run = plan.Next(In(resident), 64)) {
    runs.push_back(*run);
    for (uint32_t i = 0; i < run->pages; ++i) {
      resident.insert({run->region_id, run->offset + i * kPage});
    }
  }
  EXPECT_THAT(runs,
              ::testing::ElementsAre(FillRun{1, 2 * kPage, 1}, FillRun{1, 0, 2},
                                     FillRun{1, 3 * kPage, 1}));
}

TEST(FillPlanTest, APutBackRunComesNext) {
  FillPlan plan({}, {{1, 4 * kPage}});
  std::optional<FillRun> first = plan.Next(In({}), 2);
  ASSERT_TRUE(first.has_value());
  plan.PutBack(*first);
  EXPECT_EQ(plan.Next(In({}), 2), first);
  EXPECT_EQ(plan.Next(In({}), 2), (FillRun{1, 2 * kPage, 2}));
  EXPECT_FALSE(plan.Next(In({}), 2).has_value());
}

}  // namespace
}  // namespace faultline::vmm
