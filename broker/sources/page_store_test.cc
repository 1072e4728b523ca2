#include "broker/sources/page_store.h"

#include "broker/sources/source.h"
#include "gtest/gtest.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

TEST(PageStoreTest, PutThenGet) {
  PageStore store("s");
  ASSERT_TRUE(
      store
          .Put(v1::wire::kPageBytes, std::string(2 * v1::wire::kPageBytes, 'p'))
          .ok());
  EXPECT_EQ(store.Get(0).state, PageStore::State::kMissing);
  auto lookup = store.Get(2 * v1::wire::kPageBytes);
  ASSERT_EQ(lookup.state, PageStore::State::kPresent);
  EXPECT_EQ(*lookup.page, std::string(v1::wire::kPageBytes, 'p'));
  EXPECT_EQ(store.page_count(), 2u);
}

TEST(PageStoreTest, PagesBeingWrittenAreBusy) {
  PageStore store("s");
  ASSERT_TRUE(store.BeginWrite(0, v1::wire::kPageBytes).ok());
  EXPECT_EQ(store.Get(0).state, PageStore::State::kBeingWritten);
  store.EndWrite(0, std::string(v1::wire::kPageBytes, 'q'));
  EXPECT_EQ(store.Get(0).state, PageStore::State::kPresent);
}

TEST(PageStoreTest, UnalignedPutIsRefusedAndChangesNothing) {
  PageStore store("s");
  auto status = store.Put(100, std::string(v1::wire::kPageBytes, 'z'));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  status = store.Put(0, std::string(10, 'z'));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.page_count(), 0u);
  EXPECT_EQ(store.Get(0).state, PageStore::State::kMissing);
}

TEST(PageStoreRegistryTest, SameNameSameStore) {
  PageStoreRegistry registry;
  EXPECT_EQ(registry.GetOrCreate("a"), registry.GetOrCreate("a"));
  EXPECT_NE(registry.GetOrCreate("a"), registry.GetOrCreate("b"));
}

}  // namespace
}  // namespace faultline::broker
