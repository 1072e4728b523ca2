#include "broker/policy/scheduler.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

TEST(FairSchedulerTest, StormingQueueGetsItsTurnAndNoMore) {
  FairScheduler scheduler(1);
  // Hold the single worker so the queues fill up before anything runs.
  absl::Notification release;
  scheduler.Submit(0, [&](bool) { release.WaitForNotification(); });
  absl::Mutex mu;
  std::vector<uint64_t> order;
  for (int i = 0; i < 100; ++i) {
    scheduler.Submit(1, [&](bool) {
      absl::MutexLock lock(&mu);
      order.push_back(1);
    });
  }
  for (int i = 0; i < 3; ++i) {
    scheduler.Submit(2, [&](bool) {
      absl::MutexLock lock(&mu);
      order.push_back(2);
    });
  }
  absl::Notification all_done;
  scheduler.Submit(1, [&](bool) { all_done.Notify(); });
  release.Notify();
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  absl::MutexLock lock(&mu);
  // The quiet queue's three tasks run within the first six, not after 100.
  int quiet_seen = 0;
  for (size_t i = 0; i < 6 && i < order.size(); ++i) {
    if (order[i] == 2) ++quiet_seen;
  }
  EXPECT_EQ(quiet_seen, 3);
}

TEST(FairSchedulerTest, StopInterruptsQueuedAndDelayedTasks) {
  std::atomic<int> interrupted{0};
  absl::Notification release;
  {
    FairScheduler scheduler(1);
    scheduler.Submit(0, [&](bool) {
      release.WaitForNotificationWithTimeout(absl::Seconds(30));
    });
    for (int i = 0; i < 5; ++i) {
      scheduler.Submit(1, [&](bool was_interrupted) {
        if (was_interrupted) ++interrupted;
      });
    }
    scheduler.SubmitAfter(2, absl::Hours(1), [&](bool was_interrupted) {
      if (was_interrupted) ++interrupted;
    });
    release.Notify();
    scheduler.Stop();
    // After Stop, a task still gets called, interrupted, on this thread.
    scheduler.Submit(3, [&](bool was_interrupted) {
      if (was_interrupted) ++interrupted;
    });
  }
  // The 5 queued ones may have run before Stop; the delayed one and the
  // late one were interrupted for sure.
  EXPECT_GE(interrupted.load(), 2);
}

TEST(FairSchedulerTest, DelayedTaskRunsWithoutHoldingWorkers) {
  FairScheduler scheduler(1);
  absl::Notification delayed_ran, quick_ran;
  scheduler.SubmitAfter(1, absl::Milliseconds(300),
                        [&](bool) { delayed_ran.Notify(); });
  scheduler.Submit(2, [&](bool) { quick_ran.Notify(); });
  ASSERT_TRUE(quick_ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_TRUE(delayed_ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

TEST(FairSchedulerTest, UncontendedTaskRunsOnTheCaller) {
  FairScheduler scheduler(1);
  const std::thread::id caller = std::this_thread::get_id();
  std::thread::id ran_on;
  scheduler.SubmitOrRunHere(1, [&](bool interrupted) {
    EXPECT_FALSE(interrupted);
    ran_on = std::this_thread::get_id();
  });
  EXPECT_EQ(ran_on, caller) << "nothing queued, the worker idle: run here";
}

TEST(FairSchedulerTest, BusyWorkersMakeTasksQueue) {
  FairScheduler scheduler(1);
  absl::Notification release, holding;
  scheduler.Submit(0, [&](bool) {
    holding.Notify();
    release.WaitForNotification();
  });
  ASSERT_TRUE(holding.WaitForNotificationWithTimeout(absl::Seconds(30)));
  const std::thread::id caller = std::this_thread::get_id();
  absl::Notification done;
  std::thread::id ran_on = caller;
  scheduler.SubmitOrRunHere(1, [&](bool) {
    ran_on = std::this_thread::get_id();
    done.Notify();
  });
  EXPECT_FALSE(done.HasBeenNotified()) << "the worker is busy: queued";
  release.Notify();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_NE(ran_on, caller);
}

}  // namespace
}  // namespace faultline::broker
