#include "proto/faultline/v1/enum_words.h"

#include "gtest/gtest.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::v1 {
namespace {

TEST(EnumWordsTest, WordsAreNamesWithoutThePrefixInLowerCase) {
  EXPECT_EQ(EnumWord(RETRY_REASON_OVER_QUOTA), "over_quota");
  EXPECT_EQ(EnumWord(RETRY_REASON_NOT_YET_AVAILABLE), "not_yet_available");
  EXPECT_EQ(EnumWord(ERROR_KIND_BUS_ERROR), "bus_error");
  EXPECT_EQ(EnumWord(static_cast<RetryReason>(99)), "99");
}

TEST(EnumWordsTest, WordsNameTheirValuesButNeverUnspecified) {
  EXPECT_EQ(EnumFromWord<RetryReason>("busy"), RETRY_REASON_BUSY);
  EXPECT_EQ(EnumFromWord<RetryReason>("OVER_QUOTA"), RETRY_REASON_OVER_QUOTA);
  EXPECT_EQ(EnumFromWord<ErrorKind>("denied"), ERROR_KIND_DENIED);
  EXPECT_FALSE(EnumFromWord<RetryReason>("unspecified").has_value());
  EXPECT_FALSE(EnumFromWord<RetryReason>("tired").has_value());
  EXPECT_FALSE(EnumFromWord<RetryReason>("").has_value());
  // Every word maps back to its value.
  for (RetryReason reason :
       {RETRY_REASON_INTERRUPTED, RETRY_REASON_BUSY,
        RETRY_REASON_NOT_YET_AVAILABLE, RETRY_REASON_OVER_QUOTA}) {
    EXPECT_EQ(EnumFromWord<RetryReason>(EnumWord(reason)), reason);
  }
}

TEST(EnumWordsTest, ListsEveryWordInDeclarationOrder) {
  EXPECT_EQ(EnumWords<RetryReason>(),
            "interrupted, busy, not_yet_available, over_quota, "
            "store_unavailable");
  EXPECT_EQ(EnumWords<ErrorKind>("|"), "bus_error|out_of_memory|denied");
}

}  // namespace
}  // namespace faultline::v1
