#include "broker/sources/pattern_source.h"

#include <cstring>

#include "broker/sources/zero_source.h"
#include "gtest/gtest.h"
#include "proto/faultline/v1/wire.h"
#include "proto/pattern.h"

namespace faultline::broker {
namespace {

TEST(PatternSourceTest, KeysOnGuestFrameNotRegionOffset) {
  const uint64_t base = 0x100000;
  PatternSource source(/*seed=*/42, base);
  v1::FaultAnswer answer;
  source.Answer(3 * v1::wire::kPageBytes, &answer);
  ASSERT_TRUE(answer.has_page());
  ASSERT_EQ(answer.page().data().size(), v1::wire::kPageBytes);
  uint64_t words[pattern::kWordsPerPage];
  std::memcpy(words, answer.page().data().data(), v1::wire::kPageBytes);
  EXPECT_EQ(
      pattern::CountMismatches(42, base / v1::wire::kPageBytes + 3, words), 0u);
  EXPECT_NE(pattern::CountMismatches(42, 3, words), 0u);
}

TEST(PatternSourceTest, SeedChangesContent) {
  PatternSource a(1, 0), b(2, 0);
  v1::FaultAnswer answer_a, answer_b;
  a.Answer(0, &answer_a);
  b.Answer(0, &answer_b);
  EXPECT_NE(answer_a.page().data(), answer_b.page().data());
}

TEST(PatternSourceTest, ComputedSourcesNeverBlock) {
  // These answer on the thread that read the fault when workers are idle.
  EXPECT_FALSE(PatternSource(1, 0).MayBlock());
  EXPECT_FALSE(ZeroSource().MayBlock());
}

}  // namespace
}  // namespace faultline::broker
