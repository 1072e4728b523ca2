#include "broker/sources/memory_store_backend.h"

#include "gtest/gtest.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

using v1::wire::kPageBytes;

std::string Pages(uint64_t count, char fill) {
  return std::string(count * kPageBytes, fill);
}

TEST(MemoryStoreBackendTest, WriteReadListDelete) {
  MemoryStoreBackend backend;
  EXPECT_EQ(backend.Describe(), "memory");
  ASSERT_TRUE(backend.Write("a", kPageBytes, Pages(3, 'a'), absl::Now()).ok());
  ASSERT_TRUE(backend.Write("b", 0, Pages(1, 'b'), absl::Now()).ok());
  std::vector<StorePage> pages = backend.Read("a", 0, 5, absl::Now());
  ASSERT_EQ(pages.size(), 5u);
  EXPECT_EQ(pages[0].state, StorePage::State::kMissing);
  EXPECT_EQ(pages[1].state, StorePage::State::kPresent);
  EXPECT_EQ(*pages[3].data, Pages(1, 'a'));
  EXPECT_EQ(pages[4].state, StorePage::State::kMissing);
  EXPECT_EQ(backend.Read("nobody", 0, 2, absl::Now())[1].state,
            StorePage::State::kMissing);

  auto listed = backend.List(absl::Now());
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].name, "a");
  EXPECT_EQ((*listed)[0].pages, 3u);

  auto deleted = backend.Delete("a", absl::Now());
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 3u);
  EXPECT_EQ(backend.Read("a", kPageBytes, 1, absl::Now())[0].state,
            StorePage::State::kMissing);
  EXPECT_EQ(backend.Delete("a", absl::Now()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(backend.Delete("", absl::Now()).status().code(),
            absl::StatusCode::kInvalidArgument);
  listed = backend.List(absl::Now());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name, "b");
}

TEST(MemoryStoreBackendTest, LimitsPerStoreAndInTotal) {
  StoreLimits limits;
  limits.store_bytes = 4 * kPageBytes;
  limits.total_bytes = 6 * kPageBytes;
  MemoryStoreBackend backend(limits);
  ASSERT_TRUE(backend.Write("a", 0, Pages(4, 'a'), absl::Now()).ok());
  // Overwriting what is there adds nothing.
  ASSERT_TRUE(backend.Write("a", 0, Pages(4, 'A'), absl::Now()).ok());
  absl::Status over =
      backend.Write("a", 4 * kPageBytes, Pages(1, 'x'), absl::Now());
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(over.message().find("per store"), std::string::npos) << over;
  ASSERT_TRUE(backend.Write("b", 0, Pages(2, 'b'), absl::Now()).ok());
  over = backend.Write("c", 0, Pages(1, 'c'), absl::Now());
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(over.message().find("all stores"), std::string::npos) << over;
  // Refused writes leave nothing behind, not even an empty store.
  auto listed = backend.List(absl::Now());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ(backend.Read("a", 4 * kPageBytes, 1, absl::Now())[0].state,
            StorePage::State::kMissing);
  // Deleting gives the room back.
  ASSERT_TRUE(backend.Delete("b", absl::Now()).ok());
  EXPECT_TRUE(backend.Write("c", 0, Pages(2, 'c'), absl::Now()).ok());
}

TEST(MemoryStoreBackendTest, OffsetsPastTheExtentAndBadWritesAreRefused) {
  StoreLimits limits;
  limits.extent_bytes = uint64_t{1} << 40;
  MemoryStoreBackend backend(limits);
  absl::Status far =
      backend.Write("a", uint64_t{1} << 62, Pages(1, 'f'), absl::Now());
  EXPECT_EQ(far.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(far.message().find("largest store offset"), std::string::npos)
      << far;
  EXPECT_TRUE(backend
                  .Write("a", (uint64_t{1} << 40) - kPageBytes, Pages(1, 'l'),
                         absl::Now())
                  .ok());
  EXPECT_EQ(backend.Write("a", 100, Pages(1, 'u'), absl::Now()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(backend.Write("a", 0, "short", absl::Now()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(backend.Write(std::string(129, 'n'), 0, Pages(1, 'n'), absl::Now())
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      backend
          .Write("a", ~uint64_t{0} - kPageBytes + 1, Pages(2, 'w'), absl::Now())
          .code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace faultline::broker
