#include "broker/policy/scheduler.h"

namespace faultline::broker {

FairScheduler::FairScheduler(int worker_count)
    : worker_count_(worker_count < 1 ? 1 : worker_count) {
  for (int i = 0; i < worker_count_; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  timer_ = std::thread([this] { TimerLoop(); });
}

FairScheduler::~FairScheduler() { Stop(); }

void FairScheduler::EnqueueLocked(uint64_t queue_key, Task task) {
  std::deque<Task>& queue = queues_[queue_key];
  if (queue.empty()) turns_.push_back(queue_key);
  queue.push_back(std::move(task));
  ++queued_;
  work_ready_.Signal();
}

void FairScheduler::Submit(uint64_t queue_key, Task task) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      EnqueueLocked(queue_key, std::move(task));
      return;
    }
  }
  task(/*interrupted=*/true);
}

void FairScheduler::SubmitOrRunHere(uint64_t queue_key, Task task) {
  bool stopping;
  {
    absl::MutexLock lock(&mu_);
    stopping = stopping_;
    if (!stopping) {
      if (!turns_.empty() || running_ >= worker_count_) {
        EnqueueLocked(queue_key, std::move(task));
        return;
      }
      ++running_;
    }
  }
  task(/*interrupted=*/stopping);
  if (stopping) return;
  absl::MutexLock lock(&mu_);
  --running_;
}

void FairScheduler::SubmitAfter(uint64_t queue_key, absl::Duration delay,
                                Task task) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      delayed_.emplace(absl::Now() + delay,
                       std::make_pair(queue_key, std::move(task)));
      timer_changed_.Signal();
      return;
    }
  }
  task(/*interrupted=*/true);
}

void FairScheduler::WorkerLoop() {
  while (true) {
    Task task;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_ && turns_.empty()) work_ready_.Wait(&mu_);
      if (stopping_) return;
      const uint64_t key = turns_.front();
      turns_.pop_front();
      auto it = queues_.find(key);
      task = std::move(it->second.front());
      it->second.pop_front();
      --queued_;
      if (it->second.empty()) {
        queues_.erase(it);
      } else {
        turns_.push_back(key);
      }
      ++running_;
    }
    task(/*interrupted=*/false);
    absl::MutexLock lock(&mu_);
    --running_;
  }
}

void FairScheduler::TimerLoop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    if (delayed_.empty()) {
      timer_changed_.Wait(&mu_);
      continue;
    }
    const absl::Time due = delayed_.begin()->first;
    if (absl::Now() < due) {
      timer_changed_.WaitWithDeadline(&mu_, due);
      continue;
    }
    auto node = delayed_.extract(delayed_.begin());
    EnqueueLocked(node.mapped().first, std::move(node.mapped().second));
  }
}

void FairScheduler::Stop() {
  std::vector<Task> leftovers;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    work_ready_.SignalAll();
    timer_changed_.SignalAll();
  }
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
  if (timer_.joinable()) timer_.join();
  {
    absl::MutexLock lock(&mu_);
    for (auto& [key, queue] : queues_) {
      for (Task& task : queue) leftovers.push_back(std::move(task));
    }
    queues_.clear();
    turns_.clear();
    queued_ = 0;
    for (auto& [due, entry] : delayed_) {
      leftovers.push_back(std::move(entry.second));
    }
    delayed_.clear();
  }
  for (Task& task : leftovers) task(/*interrupted=*/true);
}

size_t FairScheduler::queued() const {
  absl::MutexLock lock(&mu_);
  return queued_;
}

}  // namespace faultline::broker
