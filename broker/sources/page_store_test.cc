#include "broker/sources/page_store.h"

#include "gtest/gtest.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

using v1::wire::kPageBytes;

TEST(PageStoreTest, PutThenGet) {
  PageStore store("s");
  ASSERT_TRUE(store.Put(kPageBytes, std::string(2 * kPageBytes, 'p')).ok());
  EXPECT_EQ(store.Get(0).state, PageStore::State::kMissing);
  auto lookup = store.Get(2 * kPageBytes);
  ASSERT_EQ(lookup.state, PageStore::State::kPresent);
  EXPECT_EQ(*lookup.page, std::string(kPageBytes, 'p'));
  EXPECT_EQ(store.page_count(), 2u);
  EXPECT_EQ(store.MissingPages(0, 4 * kPageBytes), 2u);
}

TEST(PageStoreTest, PagesBeingWrittenAreBusy) {
  PageStore store("s");
  ASSERT_TRUE(store.BeginWrite(0, kPageBytes).ok());
  EXPECT_EQ(store.Get(0).state, PageStore::State::kBeingWritten);
  EXPECT_EQ(store.EndWrite(0, std::string(kPageBytes, 'q')), 1u);
  EXPECT_EQ(store.Get(0).state, PageStore::State::kPresent);
  ASSERT_TRUE(store.BeginWrite(0, kPageBytes).ok());
  EXPECT_EQ(store.EndWrite(0, std::string(kPageBytes, 'r')), 0u)
      << "an overwrite adds no page";
}

TEST(PageStoreTest, UnalignedPutIsRefusedAndChangesNothing) {
  PageStore store("s");
  auto status = store.Put(100, std::string(kPageBytes, 'z'));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  status = store.Put(0, std::string(10, 'z'));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.page_count(), 0u);
  EXPECT_EQ(store.Get(0).state, PageStore::State::kMissing);
}

TEST(PageStoreRegistryTest, SameNameSameStoreRemoveAndList) {
  PageStoreRegistry registry;
  EXPECT_EQ(registry.Find("a"), nullptr);
  EXPECT_EQ(registry.GetOrCreate("a"), registry.GetOrCreate("a"));
  EXPECT_NE(registry.GetOrCreate("a"), registry.GetOrCreate("b"));
  EXPECT_EQ(registry.List().size(), 2u);
  std::shared_ptr<PageStore> removed = registry.Remove("a");
  ASSERT_NE(removed, nullptr);
  EXPECT_EQ(removed->name(), "a");
  EXPECT_EQ(registry.Find("a"), nullptr);
  EXPECT_EQ(registry.Remove("a"), nullptr);
  ASSERT_EQ(registry.List().size(), 1u);
  EXPECT_EQ(registry.List()[0]->name(), "b");
}

}  // namespace
}  // namespace faultline::broker
