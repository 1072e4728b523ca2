// Figures for the Redis store layer, on servers it starts itself (a
// standalone server and a 3+3 cluster on loopback): single-read latency and
// pages/s for a raw GET, a 16-key MGET, and RedisStore reads of one page and
// of a 16-page prefetch window with the cache cold and warm; put throughput
// with and without WAIT; and the memory a page costs in each key layout
// (INFO memory). Prints figures and asserts nothing.
//   bazel run -c opt //broker/redis:redis_store_benchmark
#include <algorithm>
#include <functional>
#include <iostream>
#include <random>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "broker/redis/redis_store.h"
#include "broker/redis/testing/pattern_pages.h"
#include "broker/redis/testing/redis_servers.h"

ABSL_FLAG(int, reads, 3000, "timed reads per row");
ABSL_FLAG(int, memory_windows, 256,
          "windows (31 pages each) for the memory rows");

namespace faultline::broker::redis {
namespace {

using testing::PatternPages;

absl::Time In(absl::Duration d) { return absl::Now() + d; }

// Times `op` (which reads `pages` pages) `n` times; prints p50, p99, pages/s.
void Row(const std::string& name, int n, int pages,
         const std::function<void(int)>& op) {
  std::vector<double> us;
  us.reserve(n);
  const absl::Time start = absl::Now();
  for (int i = 0; i < n; ++i) {
    const absl::Time t = absl::Now();
    op(i);
    us.push_back(absl::ToDoubleMicroseconds(absl::Now() - t));
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::sort(us.begin(), us.end());
  std::cout << absl::StrFormat("%-44s %9.1f %9.1f %12.0f\n", name,
                               us[us.size() / 2], us[us.size() * 99 / 100],
                               n * pages / seconds);
}

std::unique_ptr<RedisStore> Store(std::vector<NodeAddress> seeds,
                                  uint64_t cache_bytes,
                                  bool replicated = false) {
  RedisStoreOptions options;
  options.client.seeds = std::move(seeds);
  options.cache_bytes = cache_bytes;
  options.ack_replicated = replicated;
  auto store = RedisStore::Connect(options, In(absl::Seconds(10)));
  if (!store.ok()) {
    std::cerr << store.status() << "\n";
    std::exit(1);
  }
  return *std::move(store);
}

void Check(const absl::Status& status) {
  if (!status.ok()) {
    std::cerr << status << "\n";
    std::exit(1);
  }
}

constexpr uint64_t kStorePages = 31 * 64;  // 64 windows, 7.75 MiB

void ReadRows(const std::string& label, std::vector<NodeAddress> seeds) {
  const int n = absl::GetFlag(FLAGS_reads);
  auto writer = Store(seeds, 0);
  for (uint64_t page = 0; page < kStorePages; page += 256) {
    Check(writer->Write(
        "bench", page * kPageBytes,
        PatternPages(1, page, std::min<uint64_t>(256, kStorePages - page)),
        In(absl::Seconds(30))));
  }
  std::mt19937 random(1);
  std::vector<uint64_t> pages(n);
  for (uint64_t& page : pages) page = random() % (kStorePages - 16);

  // Raw client: 4 KiB GET, and MGET of 16 keys sharing a hash tag.
  Client& client = writer->client();
  const std::string page_bytes = PatternPages(2, 0, 1);
  std::vector<Command> sets;
  for (int k = 0; k < 16 * 64; ++k) {
    sets.push_back(Command{
        {"SET", absl::StrCat("bench:{w", k / 16, "}:", k % 16), page_bytes}});
  }
  client.ExecuteBatch(sets, CallOptions{In(absl::Seconds(30))});
  Row(label + " GET 4 KiB", n, 1, [&](int i) {
    client.Execute(Command{{"GET", sets[i % sets.size()].args[1]}},
                   CallOptions{In(absl::Seconds(5))});
  });
  Row(label + " MGET 16 keys, one slot", n, 16, [&](int i) {
    std::vector<std::string> keys;
    for (int k = 0; k < 16; ++k)
      keys.push_back(absl::StrCat("bench:{w", i % 64, "}:", k));
    client.MGet(keys, CallOptions{In(absl::Seconds(5))});
  });

  auto cold = Store(seeds, 0);
  Row(label + " store read 1 page, no cache", n, 1, [&](int i) {
    cold->Read("bench", pages[i] * kPageBytes, 1, In(absl::Seconds(5)));
  });
  Row(label + " store read 16 pages, no cache", n, 16, [&](int i) {
    cold->Read("bench", pages[i] * kPageBytes, 16, In(absl::Seconds(5)));
  });
  auto warm = Store(seeds, uint64_t{64} << 20);
  for (uint64_t page = 0; page < kStorePages; page += 62) {
    warm->Read("bench", page * kPageBytes, 62, In(absl::Seconds(5)));
  }
  Row(label + " store read 1 page, warm cache", n, 1, [&](int i) {
    warm->Read("bench", pages[i] * kPageBytes, 1, In(absl::Seconds(5)));
  });
  Row(label + " store read 16 pages, warm cache", n, 16, [&](int i) {
    warm->Read("bench", pages[i] * kPageBytes, 16, In(absl::Seconds(5)));
  });
  RedisStore::CacheStats stats = warm->cache_stats();
  std::cout << absl::StrFormat("%-44s hits %llu misses %llu, %llu KiB held\n",
                               "  (warm cache)", stats.hits, stats.misses,
                               stats.cache.bytes >> 10);
}

void WriteRows(const std::string& label, std::vector<NodeAddress> seeds,
               bool replicated) {
  auto writer = Store(seeds, 0, replicated);
  const std::string mib = PatternPages(3, 0, 256);
  const int n = 64;
  const absl::Time start = absl::Now();
  for (int i = 0; i < n; ++i) {
    Check(writer->Write("bench-put", uint64_t(i) * mib.size(), mib,
                        In(absl::Seconds(30))));
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::cout << absl::StrFormat("%-44s %9.1f ms per MiB, %6.0f MiB/s\n",
                               label + (replicated ? " put, WAIT 1" : " put"),
                               seconds * 1000 / n, n / seconds);
}

int64_t UsedMemory(testing::RedisServer& server) {
  absl::StatusOr<Reply> info = server.Command({"INFO", "memory"});
  const std::string key = "used_memory:";
  const size_t at = info.ok() ? info->str.find(key) : std::string::npos;
  int64_t bytes = 0;
  if (at != std::string::npos) {
    absl::SimpleAtoi(
        info->str.substr(at + key.size(),
                         info->str.find('\r', at) - at - key.size()),
        &bytes);
  }
  return bytes;
}

// What a page costs on a fresh server: one key per page, or windows.
void MemoryRows() {
  const uint64_t windows = absl::GetFlag(FLAGS_memory_windows);
  const uint64_t pages = windows * kWindowPages;
  const double page_bytes = pages * kPageBytes;
  {
    auto redis = testing::StandaloneRedis::Start();
    Check(redis.status());
    auto store = Store({(*redis)->server->address()}, 0);
    Client& client = store->client();
    const int64_t before = UsedMemory(*(*redis)->server);
    std::vector<Command> sets;
    for (uint64_t p = 0; p < pages; ++p) {
      sets.push_back(
          Command{{"SET", absl::StrCat("pg:{disk0:", p / 16, "}:", p % 16),
                   PatternPages(4, p, 1)}});
      if (sets.size() == 256 || p + 1 == pages) {
        client.ExecuteBatch(sets, CallOptions{In(absl::Seconds(30))});
        sets.clear();
      }
    }
    const double used = UsedMemory(*(*redis)->server) - before;
    std::cout << absl::StrFormat("%-44s %8.0f bytes per page, +%.1f%%\n",
                                 "memory: a key per page (SET, tag per 16)",
                                 used / pages, 100 * (used / page_bytes - 1));
  }
  for (bool whole : {true, false}) {
    auto redis = testing::StandaloneRedis::Start();
    Check(redis.status());
    auto store = Store({(*redis)->server->address()}, 0);
    const int64_t before = UsedMemory(*(*redis)->server);
    if (whole) {
      for (uint64_t p = 0; p < pages; p += 256) {
        Check(
            store->Write("disk0", p * kPageBytes,
                         PatternPages(4, p, std::min<uint64_t>(256, pages - p)),
                         In(absl::Seconds(30))));
      }
    } else {
      // Page by page, in an order that fills windows a page at a time.
      for (uint64_t i = 0; i < pages; ++i) {
        const uint64_t p = (i % windows) * kWindowPages + i / windows;
        Check(store->Write("disk0", p * kPageBytes, PatternPages(4, p, 1),
                           In(absl::Seconds(30))));
      }
    }
    const double used = UsedMemory(*(*redis)->server) - before;
    std::cout << absl::StrFormat(
        "%-44s %8.0f bytes per page, +%.1f%%\n",
        whole ? "memory: 31-page windows, put 1 MiB at a time"
              : "memory: 31-page windows, put page by page",
        used / pages, 100 * (used / page_bytes - 1));
  }
}

int Main() {
  std::cout << absl::StrFormat("%-44s %9s %9s %12s\n", "", "p50 us", "p99 us",
                               "pages/s");
  {
    auto redis = testing::StandaloneRedis::Start();
    Check(redis.status());
    ReadRows("standalone", {(*redis)->server->address()});
    WriteRows("standalone", {(*redis)->server->address()}, false);
  }
  {
    auto cluster = testing::RedisCluster::Start(3, 1);
    Check(cluster.status());
    ReadRows("cluster", (*cluster)->Seeds());
    WriteRows("cluster", (*cluster)->Seeds(), false);
    WriteRows("cluster", (*cluster)->Seeds(), true);
  }
  MemoryRows();
  return 0;
}

}  // namespace
}  // namespace faultline::broker::redis

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return faultline::broker::redis::Main();
}
