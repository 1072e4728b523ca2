#include "vmm/vcpu/run_control.h"

#include <utility>

namespace faultline::vmm {

void RunControl::AddKicker(std::function<void()> kick) {
  absl::MutexLock lock(&mutex_);
  kickers_.push_back(std::move(kick));
}

void RunControl::KickAll() {
  std::vector<std::function<void()>> kickers;
  {
    absl::MutexLock lock(&mutex_);
    kickers = kickers_;
  }
  for (const auto& kick : kickers) kick();
}

bool RunControl::Pause() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return false;
    paused_ = true;
  }
  KickAll();
  return true;
}

bool RunControl::Resume() {
  absl::MutexLock lock(&mutex_);
  if (stopping_) return false;
  paused_ = false;
  return true;
}

void RunControl::Stop(StopReason reason) {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
    stopping_ = true;
    reason_ = std::move(reason);
  }
  KickAll();
}

void RunControl::NoteHalted() {
  bool all_halted;
  {
    absl::MutexLock lock(&mutex_);
    all_halted = ++halted_ >= vcpu_count_;
  }
  if (all_halted) {
    Stop({StopKind::kGuestHalted, 0,
          "every vCPU halted without writing the debug-exit port"});
  }
}

bool RunControl::WaitWhilePaused() {
  absl::MutexLock lock(&mutex_);
  auto not_paused = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return !paused_ || stopping_;
  };
  mutex_.Await(absl::Condition(&not_paused));
  return !stopping_;
}

bool RunControl::WaitForStop(absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  mutex_.AwaitWithTimeout(absl::Condition(&stopping_), timeout);
  return stopping_;
}

bool RunControl::stopping() const {
  absl::MutexLock lock(&mutex_);
  return stopping_;
}

bool RunControl::paused() const {
  absl::MutexLock lock(&mutex_);
  return paused_;
}

StopReason RunControl::reason() const {
  absl::MutexLock lock(&mutex_);
  return reason_;
}

std::string RunControl::Describe() const {
  absl::MutexLock lock(&mutex_);
  if (stopping_) return "stopping: " + reason_.message;
  return paused_ ? "paused" : "running";
}

}  // namespace faultline::vmm
