// The Redis store through the failures it promises to survive, on real 3+3
// clusters the tests start (node timeout 5000 ms, full coverage not
// required): a master SIGKILLed mid-run (its pages answer "unavailable" with
// a reason, never missing or wrong, then the right bytes once its replica
// is promoted), and the whole cluster SIGKILLed and restarted from its
// append-only files (every acknowledged page back).
#include <atomic>
#include <iostream>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "broker/redis/key_slot.h"
#include "broker/redis/redis_store.h"
#include "broker/redis/testing/pattern_pages.h"
#include "broker/redis/testing/redis_servers.h"
#include "gtest/gtest.h"

namespace faultline::broker::redis {
namespace {

using State = StorePage::State;
using testing::PatternPages;
using testing::RedisCluster;
using testing::RedisServer;

constexpr uint64_t kWindows = 60;
constexpr uint64_t kPages = kWindows * kWindowPages;

absl::Time In(absl::Duration d) { return absl::Now() + d; }

std::unique_ptr<RedisStore> Connect(const RedisCluster& cluster) {
  RedisStoreOptions options;
  options.client.seeds = cluster.Seeds();
  auto store = RedisStore::Connect(options, In(absl::Seconds(10)));
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

void Fill(RedisStore& store, const std::string& name, uint64_t seed) {
  for (uint64_t page = 0; page < kPages; page += 256) {
    const uint64_t count = std::min<uint64_t>(256, kPages - page);
    ASSERT_TRUE(store
                    .Write(name, page * kPageBytes,
                           PatternPages(seed, page, count),
                           In(absl::Seconds(10)))
                    .ok());
  }
}

// Every page of the store, byte for byte.
void ExpectAll(RedisStore& store, const std::string& name, uint64_t seed) {
  for (uint64_t page = 0; page < kPages; page += 62) {
    const uint32_t count =
        static_cast<uint32_t>(std::min<uint64_t>(62, kPages - page));
    std::vector<StorePage> pages =
        store.Read(name, page * kPageBytes, count, In(absl::Seconds(10)));
    for (uint32_t i = 0; i < count; ++i) {
      ASSERT_EQ(pages[i].state, State::kPresent)
          << "page " << page + i << ": " << pages[i].reason;
      ASSERT_EQ(*pages[i].data, PatternPages(seed, page + i, 1))
          << "page " << page + i;
    }
  }
}

// What a reader thread saw while the cluster failed over.
struct Tally {
  absl::Mutex mu;
  uint64_t present = 0;
  uint64_t unavailable_victim = 0;  // on the killed master's windows
  uint64_t unavailable_other = 0;   // on the other masters' windows
  std::vector<std::string> wrong;   // missing, busy, or wrong bytes
  std::string reason;               // one "unavailable" reason
};

TEST(RedisStoreFailoverTest, AKilledMastersPagesAreUnavailableThenCorrect) {
  auto cluster = RedisCluster::Start(3, 1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto writer = Connect(**cluster);
  auto reader = Connect(**cluster);
  ASSERT_TRUE(writer && reader);
  Fill(*writer, "fo", 11);

  absl::StatusOr<RedisServer*> victim =
      (*cluster)->MasterOf(KeySlot(WindowKey("fo", 0)));
  ASSERT_TRUE(victim.ok()) << victim.status();
  const NodeAddress victim_address = (*victim)->address();
  std::vector<bool> on_victim(kWindows);
  for (uint64_t w = 0; w < kWindows; ++w) {
    absl::StatusOr<RedisServer*> master =
        (*cluster)->MasterOf(KeySlot(WindowKey("fo", w)));
    ASSERT_TRUE(master.ok());
    on_victim[w] = *master == *victim;
  }

  Tally tally;
  std::atomic<bool> stop{false};
  std::thread reading([&] {
    std::mt19937 random(3);
    while (!stop) {
      const uint64_t window = random() % kWindows;
      const uint64_t first = window * kWindowPages + random() % 15;
      std::vector<StorePage> pages = reader->Read("fo", first * kPageBytes, 16,
                                                  In(absl::Milliseconds(200)));
      absl::ReleasableMutexLock lock(&tally.mu);
      for (uint64_t i = 0; i < pages.size(); ++i) {
        const StorePage& page = pages[i];
        if (page.state == State::kUnavailable) {
          (on_victim[window] ? tally.unavailable_victim
                             : tally.unavailable_other)++;
          if (tally.reason.empty()) tally.reason = page.reason;
          EXPECT_FALSE(page.reason.empty());
        } else if (page.state == State::kPresent &&
                   *page.data == PatternPages(11, first + i, 1)) {
          ++tally.present;
        } else {
          tally.wrong.push_back(absl::StrCat("page ", first + i, " state ",
                                             static_cast<int>(page.state)));
        }
      }
      lock.Release();
      // A VMM would wait its delay hint too; leave the CPU to the cluster.
      absl::SleepFor(absl::Microseconds(500));
    }
  });
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time killed = absl::Now();
  (*victim)->Kill();
  // A put during the failover waits it out (writes ride out failovers).
  absl::Status put = writer->Write("fo-during", 0, PatternPages(12, 0, 93),
                                   In(absl::Seconds(60)));
  const absl::Duration put_took = absl::Now() - killed;
  // Until every window reads right again.
  absl::Duration recovered = absl::InfiniteDuration();
  while (absl::Now() - killed < absl::Seconds(60)) {
    bool all = true;
    for (uint64_t w = 0; w < kWindows && all; ++w) {
      for (const StorePage& page :
           reader->Read("fo", w * kWindowPages * kPageBytes, 1,
                        In(absl::Milliseconds(200)))) {
        all = all && page.state == State::kPresent;
      }
    }
    if (all) {
      recovered = absl::Now() - killed;
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  absl::SleepFor(absl::Milliseconds(300));
  stop = true;
  reading.join();

  std::cout << "failover: victim " << victim_address.ToString()
            << ", recovered after " << absl::FormatDuration(recovered)
            << ", put during failover took " << absl::FormatDuration(put_took)
            << "; reads: " << tally.present << " pages right, "
            << tally.unavailable_victim << " unavailable on the victim, "
            << tally.unavailable_other
            << " on other masters; reason: " << tally.reason << "\n";
  ASSERT_NE(recovered, absl::InfiniteDuration()) << "no failover in 60 s";
  EXPECT_TRUE(tally.wrong.empty())
      << tally.wrong.size() << " wrong answers, first: " << tally.wrong[0];
  EXPECT_GT(tally.unavailable_victim, 0u);
  EXPECT_NE(tally.reason.find(victim_address.ToString()), std::string::npos)
      << tally.reason;
  ASSERT_TRUE(put.ok()) << put;
  // Nothing lost, through either broker.
  ExpectAll(*reader, "fo", 11);
  ExpectAll(*writer, "fo", 11);
  std::vector<StorePage> during =
      reader->Read("fo-during", 0, 62, In(absl::Seconds(10)));
  for (uint64_t i = 0; i < during.size(); ++i) {
    ASSERT_EQ(during[i].state, State::kPresent) << during[i].reason;
    EXPECT_EQ(*during[i].data, PatternPages(12, i, 1));
  }
}

TEST(RedisStoreFailoverTest, TheWholeClusterKilledAndRestartedKeepsEveryPage) {
  auto cluster = RedisCluster::Start(3, 1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto before = Connect(**cluster);
  ASSERT_TRUE(before);
  Fill(*before, "aof", 21);
  // The last acknowledged put, right before the kill: no sleep for fsync.
  ASSERT_TRUE(
      before->Write("aof", 0, PatternPages(22, 0, 31), In(absl::Seconds(10)))
          .ok());
  (*cluster)->KillAll();
  for (const StorePage& page :
       before->Read("aof", 0, 16, In(absl::Milliseconds(300)))) {
    EXPECT_EQ(page.state, State::kUnavailable) << "never missing while down";
  }
  const absl::Time restart = absl::Now();
  ASSERT_TRUE((*cluster)->RestartAll().ok());
  std::cout << "cluster restarted from its AOF and healthy after "
            << absl::FormatDuration(absl::Now() - restart) << "\n";
  absl::SleepFor(absl::Milliseconds(150));  // past the client's down memo

  auto after = Connect(**cluster);
  ASSERT_TRUE(after);
  for (RedisStore* store : {before.get(), after.get()}) {
    std::vector<StorePage> first =
        store->Read("aof", 0, 31, In(absl::Seconds(10)));
    for (uint64_t i = 0; i < first.size(); ++i) {
      ASSERT_EQ(first[i].state, State::kPresent) << first[i].reason;
      ASSERT_EQ(*first[i].data, PatternPages(22, i, 1));
    }
    std::vector<StorePage> rest =
        store->Read("aof", 31 * kPageBytes, 31, In(absl::Seconds(10)));
    for (uint64_t i = 0; i < rest.size(); ++i) {
      ASSERT_EQ(rest[i].state, State::kPresent) << rest[i].reason;
      ASSERT_EQ(*rest[i].data, PatternPages(21, 31 + i, 1));
    }
  }
  absl::StatusOr<std::vector<StoreInfo>> listed =
      after->List(In(absl::Seconds(10)));
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].pages, kPages);
}

}  // namespace
}  // namespace faultline::broker::redis
