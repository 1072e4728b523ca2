// The Redis store's pure parts: key layout and window splitting, and the
// bounded window cache.
#include "broker/redis/key_slot.h"
#include "broker/redis/redirect.h"
#include "broker/redis/window_cache.h"
#include "broker/redis/window_layout.h"
#include "gtest/gtest.h"

namespace faultline::broker::redis {
namespace {

TEST(WindowLayoutTest, AWindowIsOneSlotAndAStoreSpreadsOverMany) {
  std::set<int> slots;
  for (uint64_t window = 0; window < 1000; ++window) {
    slots.insert(KeySlot(WindowKey("disk0", window)));
  }
  EXPECT_GT(slots.size(), 900u) << "tag per window, never per store";
  EXPECT_EQ(WindowKey("disk0", 42), "fl:w:{disk0:42}");
  EXPECT_EQ(StoreKey("disk0"), "fl:s:{disk0}");
}

TEST(WindowLayoutTest, NamesCannotBreakTagsOrPatterns) {
  EXPECT_EQ(EncodeStoreName("a}b{c"), "a%7Db%7Bc");
  EXPECT_EQ(EncodeStoreName("x:*?[]\\ %"), "x%3A%2A%3F%5B%5D%5C%20%25");
  EXPECT_EQ(EncodeStoreName("ok.name_1-2"), "ok.name_1-2");
  // "a:1" and "a" never share window keys.
  EXPECT_NE(WindowKey("a:1", 2), WindowKey("a", 12));
  EXPECT_EQ(HashTag(WindowKey("a}b", 3)), "a%7Db:3");
  EXPECT_EQ(WindowKeyPattern("disk0"), "fl:w:{disk0:*}");
}

TEST(WindowLayoutTest, SplitIntoWindows) {
  std::vector<WindowSpan> spans = SplitIntoWindows(29, 40);
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[0].window, 0u);
  EXPECT_EQ(spans[0].first, 29u);
  EXPECT_EQ(spans[0].count, 2u);
  EXPECT_EQ(spans[0].request, 0u);
  EXPECT_EQ(spans[0].mask(), (1u << 29) | (1u << 30));
  EXPECT_EQ(spans[1].window, 1u);
  EXPECT_EQ(spans[1].first, 0u);
  EXPECT_EQ(spans[1].count, 31u);
  EXPECT_EQ(spans[1].mask(), 0x7FFFFFFFu);
  EXPECT_EQ(spans[1].request, 2u);
  EXPECT_EQ(spans[2].count, 7u);
  EXPECT_EQ(spans[2].request, 33u);
  EXPECT_EQ(SplitIntoWindows(62, 1).size(), 1u);
  EXPECT_EQ(SplitIntoWindows(62, 1)[0].window, 2u);
  EXPECT_TRUE(SplitIntoWindows(5, 0).empty());
  EXPECT_EQ(CountPages(0x7FFFFFFFu), 31);
  EXPECT_LE(kWindowValueBytes, 128u * 1024 - 16) << "jemalloc's 128 KiB class";
}

TEST(WindowLayoutTest, HeaderRoundTripAndBusyLease) {
  WindowHeader header;
  header.version = std::string("0123456789abcdef");
  header.present = 0x7FFFFFFF;
  header.busy = 0x5;
  header.busy_until_ms = 1796115753123.5;
  const std::string bytes = FormatWindowHeader(header);
  ASSERT_EQ(bytes.size(), kHeaderBytes);
  std::optional<WindowHeader> parsed = ParseWindowHeader(bytes);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->version, header.version);
  EXPECT_EQ(parsed->present, header.present);
  EXPECT_EQ(parsed->busy, header.busy);
  EXPECT_EQ(parsed->busy_until_ms, header.busy_until_ms);
  EXPECT_EQ(BusyAt(*parsed, 1796115753000.0), 0x5u);
  EXPECT_EQ(BusyAt(*parsed, 1796115753124.0), 0u) << "lease over";
  EXPECT_FALSE(ParseWindowHeader("").has_value());
  EXPECT_FALSE(ParseWindowHeader(std::string(31, 'x')).has_value());
  EXPECT_FALSE(ParseWindowHeader(std::string(33, 'x')).has_value());
  // A window made whole by its pad byte and never written: all zero.
  std::optional<WindowHeader> fresh =
      ParseWindowHeader(std::string(kHeaderBytes, '\0'));
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(fresh->present, 0u);
  EXPECT_EQ(BusyAt(*fresh, 1), 0u);
}

WindowPages Pages(uint32_t mask, char fill) {
  WindowPages pages;
  for (uint32_t i = 0; i < kWindowPages; ++i) {
    if (mask & (1u << i)) {
      pages[i] = std::make_shared<const std::string>(kPageBytes, fill);
    }
  }
  return pages;
}

TEST(WindowCacheTest, FindsOnlyWhatItHoldsAndReplacesOtherVersions) {
  WindowCache cache(1 << 20);
  EXPECT_FALSE(cache.Find("w", 1).has_value());
  // Pages 0-3 read at v1; 2 and 3 were never put.
  cache.Store("w", "v1", /*present=*/0b0011 | 0b10000, /*mask=*/0b1111,
              Pages(0b0011, 'a'));
  ASSERT_TRUE(cache.Find("w", 0b1111).has_value());
  EXPECT_EQ(cache.Find("w", 0b1111)->version, "v1");
  EXPECT_EQ(*cache.Find("w", 0b0001)->pages[0], std::string(kPageBytes, 'a'));
  // Page 4 is present at v1 but its bytes were not read.
  EXPECT_FALSE(cache.Find("w", 0b10000).has_value());
  cache.Store("w", "v1", 0b10011, 0b10000, Pages(0b10000, 'b'));
  EXPECT_TRUE(cache.Find("w", 0b11111).has_value());
  // Another version replaces the entry entirely.
  cache.Store("w", "v2", 0b1, 0b1, Pages(0b1, 'c'));
  EXPECT_EQ(cache.Find("w", 0b1)->version, "v2");
  EXPECT_EQ(*cache.Find("w", 0b1)->pages[0], std::string(kPageBytes, 'c'));
  EXPECT_EQ(cache.stats().bytes, kPageBytes + 256);
}

TEST(WindowCacheTest, StaysWithinItsBytesLeastRecentlyUsedFirst) {
  WindowCache cache(10 * (kPageBytes + 256));
  for (int i = 0; i < 20; ++i) {
    cache.Store("w" + std::to_string(i), "v", 1, 1, Pages(1, 'x'));
    cache.Find("w0", 1);  // keep w0 warm
  }
  WindowCache::Stats stats = cache.stats();
  EXPECT_LE(stats.bytes, cache.capacity());
  EXPECT_EQ(stats.entries, 10u);
  EXPECT_EQ(stats.evictions, 10u);
  EXPECT_TRUE(cache.Find("w0", 1).has_value());
  EXPECT_FALSE(cache.Find("w1", 1).has_value());
  EXPECT_TRUE(cache.Find("w19", 1).has_value());
}

TEST(WindowCacheTest, EraseMatchingAndOff) {
  WindowCache cache(1 << 20);
  cache.Store("fl:w:{a:1}", "v", 1, 1, Pages(1, 'x'));
  cache.Store("fl:w:{ab:1}", "v", 1, 1, Pages(1, 'x'));
  cache.EraseMatching("fl:w:{a:");
  EXPECT_FALSE(cache.Find("fl:w:{a:1}", 1).has_value());
  EXPECT_TRUE(cache.Find("fl:w:{ab:1}", 1).has_value());

  WindowCache off(0);
  off.Store("w", "v", 1, 1, Pages(1, 'x'));
  EXPECT_FALSE(off.Find("w", 1).has_value());
  EXPECT_EQ(off.stats().bytes, 0u);
}

TEST(TransactionTest, CollapseGivesTheFirstRefusalOrExecsReply) {
  EXPECT_EQ(CollapseTransaction({Reply::Status("OK"), Reply::Status("QUEUED"),
                                 Reply::Array({Reply::Integer(3)})})
                .elements[0]
                .integer,
            3);
  Reply moved = CollapseTransaction(
      {Reply::Status("OK"), Reply::Error("MOVED 12 127.0.0.1:7001"),
       Reply::Status("QUEUED"),
       Reply::Error("EXECABORT Transaction discarded")});
  EXPECT_TRUE(moved.IsErrorCode("MOVED"));
  EXPECT_TRUE(CollapseTransaction({}).is_error());
}

}  // namespace
}  // namespace faultline::broker::redis
