#include "vmm/fault/prefetch_window.h"

#include <cstdint>
#include <random>

#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

PrefetchWindowOptions Adaptive(uint32_t initial) {
  PrefetchWindowOptions options;
  options.adaptive = true;
  options.initial_pages = initial;
  return options;
}

// One made-up fault: asks, and the broker answers with every page asked
// for (the whole window becomes resident).
uint32_t FaultAndAnswer(PrefetchWindow& window, uint64_t page) {
  const uint32_t hint = window.HintFor(page);
  window.OnAnswered(page, page + 1 + hint);
  return hint;
}

// A guest touching `pages` in order: only pages not made resident by an
// earlier answer fault. Returns the faults.
template <typename Order>
int Touch(PrefetchWindow& window, const Order& pages) {
  std::vector<bool> resident(1 << 16, false);
  int faults = 0;
  for (uint64_t page : pages) {
    if (resident[page]) continue;
    ++faults;
    const uint32_t hint = FaultAndAnswer(window, page);
    for (uint64_t p = page; p <= page + hint && p < resident.size(); ++p) {
      resident[p] = true;
    }
  }
  return faults;
}

TEST(PrefetchWindowTest, FixedNeverMoves) {
  PrefetchWindowOptions options;
  options.initial_pages = 7;
  PrefetchWindow window(options);
  for (uint64_t page : {0, 8, 16, 1000, 3, 50000}) {
    EXPECT_EQ(FaultAndAnswer(window, page), 7u);
  }
  EXPECT_EQ(window.grown(), 0u);
  EXPECT_EQ(window.shrunk(), 0u);
}

TEST(PrefetchWindowTest, GrowsToTheMaximumOnSequentialAccess) {
  PrefetchWindow window(Adaptive(7));
  std::vector<uint64_t> order;
  for (uint64_t page = 0; page < 4096; ++page) order.push_back(page);
  const int faults = Touch(window, order);
  EXPECT_EQ(window.size(), 64u);
  EXPECT_GT(window.grown(), 0u);
  EXPECT_EQ(window.shrunk(), 0u);
  // 7 -> 14 -> 28 -> 56 -> 64: nearly every fault brings 64 more pages.
  EXPECT_LT(faults, 4096 / 60);
}

TEST(PrefetchWindowTest, EachFollowedAnswerDoubles) {
  PrefetchWindow window(Adaptive(1));
  uint64_t page = 100;
  uint32_t hint = FaultAndAnswer(window, page);  // nothing to follow yet
  EXPECT_EQ(hint, 1u);
  for (uint32_t want : {2u, 4u, 8u, 16u, 32u, 64u, 64u}) {
    page += hint + 1;  // just past the pages the last answer brought
    hint = FaultAndAnswer(window, page);
    EXPECT_EQ(hint, want);
  }
}

TEST(PrefetchWindowTest, ShrinksToTheMinimumOnRandomAccess) {
  PrefetchWindow window(Adaptive(64));
  std::mt19937_64 random(7);
  std::vector<uint64_t> order;
  for (int i = 0; i < 2000; ++i) order.push_back(random() % 65536);
  Touch(window, order);
  EXPECT_EQ(window.size(), 0u);
  EXPECT_GT(window.shrunk(), 0u);
}

TEST(PrefetchWindowTest, ShrinksOnAStrideLongerThanTheWindow) {
  PrefetchWindow window(Adaptive(16));
  std::vector<uint64_t> order;
  for (uint64_t page = 0; page < 65536; page += 128) order.push_back(page);
  Touch(window, order);
  EXPECT_EQ(window.size(), 0u);
}

TEST(PrefetchWindowTest, AStrideInsideTheWindowStillCountsAsFollowed) {
  PrefetchWindow window(Adaptive(7));
  std::vector<uint64_t> order;
  for (uint64_t page = 0; page < 8192; page += 3) order.push_back(page);
  Touch(window, order);
  EXPECT_EQ(window.size(), 64u);
}

TEST(PrefetchWindowTest, GrowsBackFromZeroWhenAccessTurnsSequential) {
  PrefetchWindow window(Adaptive(64));
  std::mt19937_64 random(3);
  for (int i = 0; i < 100; ++i) FaultAndAnswer(window, random() % 65536);
  ASSERT_EQ(window.size(), 0u);
  std::vector<uint64_t> order;
  for (uint64_t page = 30000; page < 31000; ++page) order.push_back(page);
  Touch(window, order);
  EXPECT_EQ(window.size(), 64u);
}

TEST(PrefetchWindowTest, TwoInterleavedSequentialStreamsBothGrow) {
  PrefetchWindow window(Adaptive(2));
  std::vector<uint64_t> order;
  for (uint64_t i = 0; i < 2048; ++i) {
    order.push_back(i);
    order.push_back(40000 + i);
  }
  Touch(window, order);
  EXPECT_EQ(window.size(), 64u);
}

TEST(PrefetchWindowTest, StaysInsideItsBounds) {
  PrefetchWindowOptions options = Adaptive(100);
  options.min_pages = 2;
  options.max_pages = 16;
  PrefetchWindow window(options);
  EXPECT_EQ(window.size(), 16u);
  std::mt19937_64 random(5);
  for (int i = 0; i < 100; ++i) FaultAndAnswer(window, random() % 65536);
  EXPECT_EQ(window.size(), 2u);
}

}  // namespace
}  // namespace faultline::vmm
