#include "broker/sources/store_source.h"

#include "gtest/gtest.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

TEST(StoreSourceTest, MissingPageRetriesOrZeroes) {
  auto store = std::make_shared<PageStore>("s");
  StoreSource retrying(store, /*missing_is_zero=*/false);
  StoreSource zeroing(store, /*missing_is_zero=*/true);
  v1::FaultAnswer answer;
  retrying.Answer(0, &answer);
  ASSERT_TRUE(answer.has_retry());
  EXPECT_EQ(answer.retry().reason(), v1::RETRY_REASON_NOT_YET_AVAILABLE);
  EXPECT_GT(answer.retry().delay_hint_us(), 0u);
  answer.Clear();
  zeroing.Answer(0, &answer);
  EXPECT_TRUE(answer.has_zero());
}

TEST(StoreSourceTest, BusyWhileWrittenThenPage) {
  auto store = std::make_shared<PageStore>("s");
  StoreSource source(store, false);
  ASSERT_TRUE(store->BeginWrite(0, v1::wire::kPageBytes).ok());
  v1::FaultAnswer answer;
  source.Answer(0, &answer);
  ASSERT_TRUE(answer.has_retry());
  EXPECT_EQ(answer.retry().reason(), v1::RETRY_REASON_BUSY);
  store->EndWrite(0, std::string(v1::wire::kPageBytes, 'd'));
  answer.Clear();
  source.Answer(0, &answer);
  ASSERT_TRUE(answer.has_page());
  EXPECT_EQ(answer.page().data(), std::string(v1::wire::kPageBytes, 'd'));
}

}  // namespace
}  // namespace faultline::broker
