#include "guest-drivers/payloads/page_order.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace faultline::guest {
namespace {

// Every page in [0, count) comes out exactly once.
void ExpectBijection(const PageOrder& order) {
  std::vector<int> seen(order.page_count(), 0);
  for (uint64_t i = 0; i < order.page_count(); ++i) {
    const uint64_t page = order.PageAt(i);
    ASSERT_LT(page, order.page_count()) << "index " << i;
    ++seen[page];
  }
  for (uint64_t page = 0; page < order.page_count(); ++page) {
    ASSERT_EQ(seen[page], 1) << "page " << page;
  }
}

TEST(PageOrder, SequentialIsTheIdentity) {
  const PageOrder order(PageOrderKind::kSequential, 100, 1, 0);
  for (uint64_t i = 0; i < 100; ++i) EXPECT_EQ(order.PageAt(i), i);
}

TEST(PageOrder, StridedVisitsEachResidueClassInTurn) {
  const PageOrder order(PageOrderKind::kStrided, 10, 4, 0);
  const std::vector<uint64_t> expected = {0, 4, 8, 1, 5, 9, 2, 6, 3, 7};
  for (uint64_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(order.PageAt(i), expected[i]) << i;
  }
}

TEST(PageOrder, StridedIsABijectionForAnyStride) {
  for (uint64_t count : {1, 2, 7, 64, 1000, 4099}) {
    for (uint64_t stride : {1, 2, 3, 16, 63, 4096, 10000}) {
      SCOPED_TRACE(testing::Message() << count << " pages, stride " << stride);
      ExpectBijection(PageOrder(PageOrderKind::kStrided, count, stride, 0));
    }
  }
}

TEST(PageOrder, RandomIsABijectionForAnyCount) {
  for (uint64_t count : {1, 2, 3, 5, 17, 255, 256, 257, 1000, 65537}) {
    for (uint64_t seed : {0, 1, 42}) {
      SCOPED_TRACE(testing::Message() << count << " pages, seed " << seed);
      ExpectBijection(PageOrder(PageOrderKind::kRandom, count, 1, seed));
    }
  }
}

TEST(PageOrder, RandomDependsOnTheSeedAndIsNotSequential) {
  const PageOrder a(PageOrderKind::kRandom, 4096, 1, 1);
  const PageOrder b(PageOrderKind::kRandom, 4096, 1, 2);
  int differ = 0, in_place = 0;
  for (uint64_t i = 0; i < 4096; ++i) {
    differ += a.PageAt(i) != b.PageAt(i);
    in_place += a.PageAt(i) == i;
  }
  EXPECT_GT(differ, 4000);
  EXPECT_LT(in_place, 50);
}

TEST(PageOrder, RandomIsReproducible) {
  const PageOrder a(PageOrderKind::kRandom, 777, 1, 9);
  const PageOrder b(PageOrderKind::kRandom, 777, 1, 9);
  for (uint64_t i = 0; i < 777; ++i) EXPECT_EQ(a.PageAt(i), b.PageAt(i));
}

TEST(SliceFor, SlicesAreDisjointAndCoverEverything) {
  for (uint64_t count : {0, 1, 5, 16, 1001}) {
    for (uint32_t vcpus : {1u, 2u, 3u, 16u}) {
      uint64_t next = 0;
      for (uint32_t vcpu = 0; vcpu < vcpus; ++vcpu) {
        const IndexRange range = SliceFor(count, vcpus, vcpu);
        EXPECT_EQ(range.begin, next);
        EXPECT_LE(range.end - range.begin, count / vcpus + 1);
        EXPECT_GE(range.end - range.begin, count / vcpus);
        next = range.end;
      }
      EXPECT_EQ(next, count);
    }
  }
}

}  // namespace
}  // namespace faultline::guest
