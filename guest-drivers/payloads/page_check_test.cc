#include "guest-drivers/payloads/page_check.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "proto/pattern.h"

namespace faultline::guest {
namespace {

struct Mismatch {
  uint64_t address, expected, got;
};

class RecordingReporter final : public MismatchReporter {
 public:
  void Report(uint64_t address, uint64_t expected, uint64_t got) override {
    mismatches.push_back({address, expected, got});
  }
  std::vector<Mismatch> mismatches;
};

constexpr uint64_t kSeed = 1234;
constexpr uint64_t kFrame = 0x345;

TEST(CheckPatternPage, AcceptsThePatternSourcePage) {
  alignas(4096) uint64_t page[pattern::kWordsPerPage];
  pattern::FillPage(kSeed, kFrame, page);
  RecordingReporter reporter;
  EXPECT_EQ(CheckPatternPage(page, kSeed, kFrame, reporter), 0u);
  EXPECT_TRUE(reporter.mismatches.empty());
}

TEST(CheckPatternPage, ReportsEachWrongWordWithItsAddress) {
  alignas(4096) uint64_t page[pattern::kWordsPerPage];
  pattern::FillPage(kSeed, kFrame, page);
  page[7] ^= 1;
  page[511] = 0;
  RecordingReporter reporter;
  EXPECT_EQ(CheckPatternPage(page, kSeed, kFrame, reporter), 2u);
  ASSERT_EQ(reporter.mismatches.size(), 2u);
  EXPECT_EQ(reporter.mismatches[0].address,
            reinterpret_cast<uint64_t>(&page[7]));
  EXPECT_EQ(reporter.mismatches[0].expected, pattern::Word(kSeed, kFrame, 7));
  EXPECT_EQ(reporter.mismatches[1].got, 0u);
}

TEST(CheckPatternPage, TheFrameNumberMatters) {
  alignas(4096) uint64_t page[pattern::kWordsPerPage];
  pattern::FillPage(kSeed, kFrame + 1, page);
  RecordingReporter reporter;
  EXPECT_EQ(CheckPatternPage(page, kSeed, kFrame, reporter), 512u);
}

TEST(WriteAndCheckPage, WritesTheDerivedValue) {
  alignas(4096) uint64_t page[pattern::kWordsPerPage] = {};
  RecordingReporter reporter;
  EXPECT_EQ(WriteAndCheckPage(page, kSeed, kFrame, reporter), 0u);
  for (uint64_t w = 0; w < pattern::kWordsPerPage; ++w) {
    ASSERT_EQ(page[w], ~pattern::Word(kSeed, kFrame, w));
    ASSERT_NE(page[w], pattern::Word(kSeed, kFrame, w));
  }
}

}  // namespace
}  // namespace faultline::guest
