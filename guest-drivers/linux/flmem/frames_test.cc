#include "guest-drivers/linux/flmem/frames.h"

#include <vector>

#include "gtest/gtest.h"
#include "proto/guest_abi.h"
#include "proto/pattern.h"

namespace faultline::flmem {
namespace {

TEST(FramesTest, FilledPagesCheck) {
  std::vector<uint64_t> page(kWordsPerPage);
  FillPage(page.data(), 9, 3);
  std::vector<Mismatch> found;
  EXPECT_EQ(CheckPage(page.data(), 0, 9, 3, false, &found, 8), 0u);
  EXPECT_EQ(page[5], pattern::Word(9, 3, 5)) << "the broker's formula";
  EXPECT_EQ(CheckPage(page.data(), 0, 9, 4, false, &found, 8), kWordsPerPage)
      << "another frame's pattern";
  EXPECT_EQ(found.size(), 8u) << "the limit";
}

TEST(FramesTest, SignedPagesKeepThePatternBelowTheSignature) {
  std::vector<uint64_t> page(kWordsPerPage);
  FillPage(page.data(), 1, 42);
  SignPage(page.data(), 42);
  EXPECT_EQ(page[511], guest_abi::PciMemFrameSignature(42));
  EXPECT_EQ(page[511], 0x475545535400002aull);
  std::vector<Mismatch> found;
  EXPECT_EQ(CheckPage(page.data(), 0, 1, 42, true, &found, 8), 0u);
  EXPECT_EQ(CheckPage(page.data(), 0, 1, 42, false, &found, 8), 1u);
  page[7] ^= 1;
  found.clear();
  EXPECT_EQ(CheckPage(page.data(), 6, 1, 42, true, &found, 8), 1u);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].page, 6u);
  EXPECT_EQ(found[0].word, 7u);
  EXPECT_EQ(DescribeMismatch(found[0]).substr(0, 22), "page 6 word 7: expecte");
}

TEST(FramesTest, ShareMarksDifferBySideAndPage) {
  EXPECT_NE(ShareMark(0, false), ShareMark(0, true));
  EXPECT_NE(ShareMark(1, false), ShareMark(0, true));
  EXPECT_NE(ShareMark(3, true), 0u);
}

}  // namespace
}  // namespace faultline::flmem
