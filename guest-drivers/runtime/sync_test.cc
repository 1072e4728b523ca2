#include "guest-drivers/runtime/sync.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace faultline::guest {
namespace {

constexpr int kThreads = 4;

TEST(Spinlock, SerializesIncrements) {
  Spinlock lock;
  uint64_t counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        SpinlockGuard guard(lock);
        ++counter;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter, uint64_t{kThreads} * 10000);
}

TEST(Spinlock, TryLockForGivesUpOnAHeldLock) {
  Spinlock lock;
  ASSERT_TRUE(lock.TryLockFor(1));
  EXPECT_FALSE(lock.TryLockFor(100));
  lock.Unlock();
  EXPECT_TRUE(lock.TryLockFor(1));
}

// Each round, every thread must see all the others' writes of that round.
TEST(Barrier, NoThreadLeavesARoundEarly) {
  Barrier barrier;
  barrier.Reset(kThreads);
  constexpr int kRounds = 200;
  uint64_t arrivals[kRounds] = {};
  bool all_seen = true;
  Spinlock seen_lock;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < kRounds; ++round) {
        AtomicAdd(&arrivals[round], 1);
        barrier.Wait();
        if (AtomicLoad(&arrivals[round]) != kThreads) {
          SpinlockGuard guard(seen_lock);
          all_seen = false;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(all_seen);
}

}  // namespace
}  // namespace faultline::guest
