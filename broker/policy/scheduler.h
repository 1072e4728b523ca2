// A worker pool that serves per-session queues round-robin, so a session
// that floods the broker with faults gets its turn and no more: every other
// session with work waits at most one task per busy session.
//
// Threading: Submit/SubmitAfter from any thread. Tasks run on the pool's
// worker threads. Stop() (also the destructor) runs every task still queued
// or delayed with interrupted = true on the calling thread, so every fault
// gets an answer, then joins the workers.
#ifndef FAULTLINE_BROKER_POLICY_SCHEDULER_H_
#define FAULTLINE_BROKER_POLICY_SCHEDULER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace faultline::broker {

class FairScheduler {
 public:
  // `interrupted` is true when the task runs because the pool is stopping.
  using Task = std::function<void(bool interrupted)>;

  explicit FairScheduler(int worker_count);
  ~FairScheduler();

  FairScheduler(const FairScheduler&) = delete;
  FairScheduler& operator=(const FairScheduler&) = delete;

  // Queues `task` behind the earlier tasks of `queue_key`.
  void Submit(uint64_t queue_key, Task task) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs `task` on the calling thread, before returning, when nothing is
  // queued and fewer than worker_count tasks run: an uncontended fault skips
  // the hand-off to a worker (a thread wake-up that costs more than the
  // page). Otherwise it is Submit(): under load the fair order decides.
  void SubmitOrRunHere(uint64_t queue_key, Task task) ABSL_LOCKS_EXCLUDED(mu_);
  // Queues `task` once `delay` has passed; no worker waits meanwhile.
  void SubmitAfter(uint64_t queue_key, absl::Duration delay, Task task)
      ABSL_LOCKS_EXCLUDED(mu_);
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // Tasks queued now, across all sessions (for metrics).
  size_t queued() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void WorkerLoop() ABSL_LOCKS_EXCLUDED(mu_);
  void TimerLoop() ABSL_LOCKS_EXCLUDED(mu_);
  void EnqueueLocked(uint64_t queue_key, Task task)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::CondVar work_ready_;
  absl::CondVar timer_changed_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<uint64_t, std::deque<Task>> queues_ ABSL_GUARDED_BY(mu_);
  // Keys of non-empty queues in the order they get their next turn.
  std::deque<uint64_t> turns_ ABSL_GUARDED_BY(mu_);
  size_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  const int worker_count_;
  // Tasks running now, on workers or on callers of SubmitOrRunHere.
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  std::multimap<absl::Time, std::pair<uint64_t, Task>> delayed_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> workers_;
  std::thread timer_;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_POLICY_SCHEDULER_H_
