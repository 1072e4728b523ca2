// The Redis store backend against real servers the test starts: one
// standalone server and one 3+3 cluster for the suite (each test uses stores
// of its own), and fresh servers where a test needs an empty one. Two
// RedisStore instances stand for two brokers sharing the servers.
#include "broker/redis/redis_store.h"

#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "broker/redis/key_slot.h"
#include "broker/redis/testing/pattern_pages.h"
#include "broker/redis/testing/redis_servers.h"
#include "gtest/gtest.h"

namespace faultline::broker::redis {
namespace {

using State = StorePage::State;
using testing::PatternPages;
using testing::RedisCluster;
using testing::StandaloneRedis;

absl::Time In(absl::Duration d) { return absl::Now() + d; }

std::unique_ptr<RedisStore> Connect(std::vector<NodeAddress> seeds,
                                    RedisStoreOptions options = {}) {
  options.client.seeds = std::move(seeds);
  absl::StatusOr<std::unique_ptr<RedisStore>> store =
      RedisStore::Connect(options, In(absl::Seconds(10)));
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

// Checks that `pages` are pattern pages of `seed` from `first_page`.
void ExpectPattern(const std::vector<StorePage>& pages, uint64_t seed,
                   uint64_t first_page) {
  for (size_t i = 0; i < pages.size(); ++i) {
    ASSERT_EQ(pages[i].state, State::kPresent)
        << "page " << first_page + i << ": " << pages[i].reason;
    ASSERT_EQ(*pages[i].data, PatternPages(seed, first_page + i, 1))
        << "page " << first_page + i;
  }
}

enum class Servers { kStandalone, kCluster };

class RedisStoreTest : public ::testing::TestWithParam<Servers> {
 protected:
  static void SetUpTestSuite() {
    auto standalone = StandaloneRedis::Start();
    ASSERT_TRUE(standalone.ok()) << standalone.status();
    standalone_ = standalone->release();
    auto cluster = RedisCluster::Start(3, 1);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
  }
  static void TearDownTestSuite() {
    delete standalone_;
    delete cluster_;
  }

  std::vector<NodeAddress> Seeds() const {
    if (GetParam() == Servers::kCluster) return cluster_->Seeds();
    return {standalone_->server->address()};
  }
  std::unique_ptr<RedisStore> Broker(RedisStoreOptions options = {}) {
    return Connect(Seeds(), options);
  }

  static StandaloneRedis* standalone_;
  static RedisCluster* cluster_;
};

StandaloneRedis* RedisStoreTest::standalone_ = nullptr;
RedisCluster* RedisStoreTest::cluster_ = nullptr;

TEST_P(RedisStoreTest, WhatOneBrokerPutsAnotherReadsByteForByte) {
  auto a = Broker();
  auto b = Broker();
  ASSERT_TRUE(a && b);
  // 200 pages from page 5, so puts and reads straddle windows.
  for (uint64_t page = 5; page < 205; page += 64) {
    const uint64_t count = std::min<uint64_t>(64, 205 - page);
    ASSERT_TRUE(a->Write("exact", page * kPageBytes,
                         PatternPages(1, page, count), In(absl::Seconds(10)))
                    .ok());
  }
  std::mt19937 random(7);
  for (uint32_t count : {1u, 16u, 65u}) {
    for (int i = 0; i < 20; ++i) {
      const uint64_t first = 5 + random() % (200 - count);
      ExpectPattern(
          b->Read("exact", first * kPageBytes, count, In(absl::Seconds(10))), 1,
          first);
    }
  }
  std::vector<StorePage> edges =
      b->Read("exact", 3 * kPageBytes, 3, In(absl::Seconds(10)));
  EXPECT_EQ(edges[0].state, State::kMissing);
  EXPECT_EQ(edges[1].state, State::kMissing);
  EXPECT_EQ(edges[2].state, State::kPresent);
  EXPECT_EQ(
      b->Read("exact", 205 * kPageBytes, 1, In(absl::Seconds(10)))[0].state,
      State::kMissing);
  EXPECT_EQ(b->Read("never-written", 0, 1, In(absl::Seconds(10)))[0].state,
            State::kMissing);
}

// A model of the store (page -> seed) against broker A's cached reads while
// broker B overwrites pages at random: A must never serve an old page.
TEST_P(RedisStoreTest, CacheIsNeverStaleWhenAnotherBrokerWrites) {
  auto a = Broker();
  auto b = Broker();
  ASSERT_TRUE(a && b);
  constexpr uint64_t kPages = 93;  // three windows
  ASSERT_TRUE(
      b->Write("stale", 0, PatternPages(100, 0, kPages), In(absl::Seconds(10)))
          .ok());
  std::map<uint64_t, uint64_t> seed_of;
  for (uint64_t p = 0; p < kPages; ++p) seed_of[p] = 100;
  std::mt19937 random(14);
  for (int step = 0; step < 300; ++step) {
    if (random() % 3 == 0) {
      const uint64_t page = random() % kPages;
      const uint64_t count =
          1 + random() % std::min<uint64_t>(4, kPages - page);
      const uint64_t seed = 1000 + step;
      ASSERT_TRUE(b->Write("stale", page * kPageBytes,
                           PatternPages(seed, page, count),
                           In(absl::Seconds(10)))
                      .ok());
      for (uint64_t p = page; p < page + count; ++p) seed_of[p] = seed;
    }
    const uint64_t first = random() % (kPages - 16);
    std::vector<StorePage> pages =
        a->Read("stale", first * kPageBytes, 16, In(absl::Seconds(10)));
    for (uint64_t i = 0; i < 16; ++i) {
      ASSERT_EQ(pages[i].state, State::kPresent) << pages[i].reason;
      ASSERT_EQ(*pages[i].data, PatternPages(seed_of[first + i], first + i, 1))
          << "step " << step << " page " << first + i << " served stale";
    }
  }
  RedisStore::CacheStats stats = a->cache_stats();
  EXPECT_GT(stats.hits, 0u);
  EXPECT_GT(stats.misses, 0u);
}

TEST_P(RedisStoreTest, PagesBeingWrittenAreBusyForEveryBrokerUntilTheEnd) {
  auto writer = Broker();
  auto reader = Broker();
  ASSERT_TRUE(writer && reader);
  const std::string data = PatternPages(3, 30, 2);  // pages 30-31: two windows
  auto pending = writer->BeginWrite("busy", 30 * kPageBytes, data.size(),
                                    absl::Seconds(30), In(absl::Seconds(10)));
  ASSERT_TRUE(pending.ok()) << pending.status();
  std::vector<StorePage> during =
      reader->Read("busy", 29 * kPageBytes, 4, In(absl::Seconds(10)));
  EXPECT_EQ(during[0].state, State::kMissing);
  EXPECT_EQ(during[1].state, State::kBeingWritten);
  EXPECT_EQ(during[2].state, State::kBeingWritten);
  EXPECT_EQ(during[3].state, State::kMissing);
  ASSERT_TRUE(writer->FinishWrite(*pending, data, In(absl::Seconds(10))).ok());
  ExpectPattern(reader->Read("busy", 30 * kPageBytes, 2, In(absl::Seconds(10))),
                3, 30);

  // A writer that never ends: its marks end with their lease.
  auto abandoned =
      writer->BeginWrite("busy", 40 * kPageBytes, kPageBytes,
                         absl::Milliseconds(300), In(absl::Seconds(10)));
  ASSERT_TRUE(abandoned.ok());
  EXPECT_EQ(
      reader->Read("busy", 40 * kPageBytes, 1, In(absl::Seconds(10)))[0].state,
      State::kBeingWritten);
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_EQ(
      reader->Read("busy", 40 * kPageBytes, 1, In(absl::Seconds(10)))[0].state,
      State::kMissing);
}

TEST_P(RedisStoreTest, ListCountsPagesOnceAndDeleteReachesEveryBroker) {
  auto a = Broker();
  auto b = Broker();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(
      a->Write("list-one", 0, PatternPages(1, 0, 40), In(absl::Seconds(10)))
          .ok());
  // Overlapping put: 20 new pages, 20 old ones.
  ASSERT_TRUE(b->Write("list-one", 20 * kPageBytes, PatternPages(2, 20, 40),
                       In(absl::Seconds(10)))
                  .ok());
  ASSERT_TRUE(
      b->Write("list-two", 0, PatternPages(1, 0, 3), In(absl::Seconds(10)))
          .ok());
  absl::StatusOr<std::vector<StoreInfo>> listed =
      a->List(In(absl::Seconds(10)));
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::map<std::string, uint64_t> pages;
  for (const StoreInfo& info : *listed) pages[info.name] = info.pages;
  EXPECT_EQ(pages["list-one"], 60u);
  EXPECT_EQ(pages["list-two"], 3u);

  ExpectPattern(a->Read("list-one", 0, 16, In(absl::Seconds(10))), 1,
                0);  // cached
  absl::StatusOr<uint64_t> deleted =
      b->Delete("list-one", In(absl::Seconds(10)));
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 60u);
  for (const StorePage& page :
       a->Read("list-one", 0, 16, In(absl::Seconds(10)))) {
    EXPECT_EQ(page.state, State::kMissing);
  }
  listed = a->List(In(absl::Seconds(10)));
  ASSERT_TRUE(listed.ok());
  for (const StoreInfo& info : *listed) EXPECT_NE(info.name, "list-one");
  EXPECT_EQ(b->Delete("list-one", In(absl::Seconds(10))).status().code(),
            absl::StatusCode::kNotFound);
  // Put again after a delete: new pages, never the old ones from a cache.
  ASSERT_TRUE(
      b->Write("list-one", 0, PatternPages(9, 0, 16), In(absl::Seconds(10)))
          .ok());
  ExpectPattern(a->Read("list-one", 0, 16, In(absl::Seconds(10))), 9, 0);
}

TEST_P(RedisStoreTest, ScriptsComeBackAfterAServerForgetsThem) {
  auto a = Broker();
  ASSERT_TRUE(a);
  ASSERT_TRUE(
      a->Write("flushed", 0, PatternPages(4, 0, 8), In(absl::Seconds(10)))
          .ok());
  for (const NodeAddress& master : a->client().Masters()) {
    a->client().ExecuteOn(master, {"SCRIPT", "FLUSH"},
                          CallOptions{In(absl::Seconds(10))});
  }
  ExpectPattern(a->Read("flushed", 0, 8, In(absl::Seconds(10))), 4, 0);
  ASSERT_TRUE(
      a->Write("flushed", 0, PatternPages(5, 0, 8), In(absl::Seconds(10)))
          .ok());
  ExpectPattern(a->Read("flushed", 0, 8, In(absl::Seconds(10))), 5, 0);
}

TEST_P(RedisStoreTest, BadWritesAreRefusedAndChangeNothing) {
  auto a = Broker();
  ASSERT_TRUE(a);
  EXPECT_EQ(
      a->Write("", 0, PatternPages(1, 0, 1), In(absl::Seconds(10))).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      a->Write("bad", 100, PatternPages(1, 0, 1), In(absl::Seconds(10))).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      a->Write("bad", 0, std::string(100, 'x'), In(absl::Seconds(10))).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a->Write("bad", ~uint64_t{0} - 4095, PatternPages(1, 0, 2),
                     In(absl::Seconds(10)))
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a->Delete("bad", In(absl::Seconds(10))).status().code(),
            absl::StatusCode::kNotFound);
}

// Window reads and writes are MULTI ... EXEC: ASKING must carry them to the
// importing node while their slot migrates, and MOVED after it.
TEST_P(RedisStoreTest, WindowsStayReadableAndWritableWhileTheirSlotMigrates) {
  if (GetParam() != Servers::kCluster) GTEST_SKIP() << "cluster only";
  auto a = Broker();
  auto b = Broker();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(
      a->Write("moving", 0, PatternPages(1, 0, 62), In(absl::Seconds(10)))
          .ok());
  const int slot = KeySlot(WindowKey("moving", 0));
  ASSERT_TRUE(cluster_->BeginSlotMigration(slot).ok());
  ExpectPattern(b->Read("moving", 0, 31, In(absl::Seconds(10))), 1, 0);
  ASSERT_TRUE(cluster_->MigrateKeys(slot, {WindowKey("moving", 0)}).ok());
  // On the target now, while the slot is still the source's: ASK.
  ExpectPattern(b->Read("moving", 0, 31, In(absl::Seconds(10))), 1, 0);
  ASSERT_TRUE(
      a->Write("moving", 0, PatternPages(2, 0, 4), In(absl::Seconds(10))).ok());
  ExpectPattern(b->Read("moving", 0, 4, In(absl::Seconds(10))), 2, 0);
  ASSERT_TRUE(cluster_->FinishSlotMigration(slot).ok());
  ExpectPattern(a->Read("moving", 0, 4, In(absl::Seconds(10))), 2, 0);
  ExpectPattern(b->Read("moving", 4 * kPageBytes, 58, In(absl::Seconds(10))), 1,
                4);
}

INSTANTIATE_TEST_SUITE_P(Servers, RedisStoreTest,
                         ::testing::Values(Servers::kStandalone,
                                           Servers::kCluster),
                         [](const ::testing::TestParamInfo<Servers>& info) {
                           return info.param == Servers::kCluster
                                      ? "Cluster"
                                      : "Standalone";
                         });

TEST(RedisStoreLimitsTest, PerStoreTotalAndExtent) {
  auto redis = StandaloneRedis::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  RedisStoreOptions options;
  options.limits.store_bytes = 8 * kPageBytes;
  options.limits.total_bytes = 12 * kPageBytes;
  options.limits.extent_bytes = 64 * kPageBytes;
  auto a = Connect({(*redis)->server->address()}, options);
  auto b = Connect({(*redis)->server->address()}, options);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(
      a->Write("one", 0, PatternPages(1, 0, 8), In(absl::Seconds(10))).ok());
  absl::Status over = b->Write("one", 8 * kPageBytes, PatternPages(1, 8, 1),
                               In(absl::Seconds(10)));
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted) << over;
  EXPECT_NE(over.message().find("per store"), std::string::npos) << over;
  EXPECT_EQ(a->Read("one", 8 * kPageBytes, 1, In(absl::Seconds(10)))[0].state,
            State::kMissing)
      << "a refused put writes nothing";
  // Overwriting what is there is no growth.
  EXPECT_TRUE(
      b->Write("one", 0, PatternPages(2, 0, 8), In(absl::Seconds(10))).ok());
  ASSERT_TRUE(
      b->Write("two", 0, PatternPages(1, 0, 4), In(absl::Seconds(10))).ok());
  over = a->Write("two", 4 * kPageBytes, PatternPages(1, 4, 1),
                  In(absl::Seconds(10)));
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted) << over;
  EXPECT_NE(over.message().find("all stores"), std::string::npos) << over;
  EXPECT_EQ(a->Write("three", 63 * kPageBytes, PatternPages(1, 0, 2),
                     In(absl::Seconds(10)))
                .code(),
            absl::StatusCode::kInvalidArgument);
  // A delete gives the bytes back.
  ASSERT_TRUE(a->Delete("one", In(absl::Seconds(10))).ok());
  EXPECT_TRUE(a->Write("two", 4 * kPageBytes, PatternPages(1, 4, 4),
                       In(absl::Seconds(10)))
                  .ok());
  auto listed = a->List(In(absl::Seconds(10)));
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].pages, 8u);
}

TEST(RedisStoreLayoutTest, ServersHoldingAnotherLayoutAreRefused) {
  auto redis = StandaloneRedis::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  ASSERT_TRUE(
      (*redis)->server->Command({"SET", kLayoutKey, "something else"}).ok());
  RedisStoreOptions options;
  options.client.seeds = {(*redis)->server->address()};
  auto store = RedisStore::Connect(options, In(absl::Seconds(10)));
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition)
      << store.status();
}

TEST(RedisStoreReplicationTest, AcknowledgedMeansReplicatedNeedsAReplica) {
  auto redis = StandaloneRedis::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  RedisStoreOptions options;
  options.ack_replicated = true;
  options.replica_wait = absl::Milliseconds(100);
  auto alone = Connect({(*redis)->server->address()}, options);
  ASSERT_TRUE(alone);
  absl::Status status =
      alone->Write("wait", 0, PatternPages(1, 0, 4), In(absl::Seconds(10)));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_NE(status.message().find("no replica confirmed"), std::string::npos)
      << status;
  // Stored all the same: the error is about the promise, not the bytes.
  ExpectPattern(alone->Read("wait", 0, 4, In(absl::Seconds(10))), 1, 0);
}

}  // namespace
}  // namespace faultline::broker::redis
