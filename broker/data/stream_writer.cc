#include "broker/data/stream_writer.h"

#include "proto/base/grpc_status.h"

namespace faultline::broker {

bool StreamWriter::Send(v1::FaultStreamResponse response) {
  {
    absl::MutexLock lock(&mu_);
    if (finish_started_ || broken_) return false;
    queue_.push_back(std::move(response));
  }
  Pump();
  return true;
}

void StreamWriter::Close(const absl::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    if (final_status_.ok()) final_status_ = status;
    closing_ = true;
  }
  Pump();
}

void StreamWriter::Fail(const absl::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    if (final_status_.ok()) final_status_ = status;
    broken_ = true;
  }
  Pump();
}

void StreamWriter::FaultStarted() {
  absl::MutexLock lock(&mu_);
  ++faults_in_flight_;
}

void StreamWriter::FaultAnswered() {
  {
    absl::MutexLock lock(&mu_);
    --faults_in_flight_;
  }
  Pump();
}

void StreamWriter::ReadsDone() {
  {
    absl::MutexLock lock(&mu_);
    reads_done_ = true;
  }
  Pump();
}

bool StreamWriter::WriteDone(bool ok) {
  bool resume = false;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    queue_.pop_front();
    if (!ok) broken_ = true;
    if (read_paused_ && queue_.size() <= kMaxQueued / 2) {
      read_paused_ = false;
      resume = true;
    }
  }
  Pump();
  return resume;
}

bool StreamWriter::BeginRead() {
  absl::MutexLock lock(&mu_);
  if (finish_started_ || broken_ || closing_) return false;
  // A client that sends faults but does not read answers stops being
  // read until it catches up, so the queue stays bounded.
  if (queue_.size() >= kMaxQueued) {
    read_paused_ = true;
    return false;
  }
  ++ops_starting_;
  return true;
}

void StreamWriter::ReadStarted() {
  {
    absl::MutexLock lock(&mu_);
    --ops_starting_;
  }
  Pump();
}

void StreamWriter::RunUnlessEnding(const std::function<void()>& fn) {
  {
    absl::MutexLock lock(&mu_);
    if (finish_started_ || broken_ || closing_) return;
    ++ops_starting_;
  }
  fn();
  ReadStarted();  // the same count down, and a Pump for what is due
}

void StreamWriter::Pump() {
  enum { kNothing, kWrite, kFinish } action = kNothing;
  const v1::FaultStreamResponse* next = nullptr;
  grpc::Status status;
  {
    absl::MutexLock lock(&mu_);
    if (finish_started_ || writing_ || ops_starting_ > 0) return;
    if (broken_) {
      queue_.clear();
    }
    if (!queue_.empty()) {
      writing_ = true;
      next = &queue_.front();
      action = kWrite;
    } else if (broken_ || closing_ || (reads_done_ && faults_in_flight_ == 0)) {
      finish_started_ = true;
      status = ToGrpcStatus(final_status_);
      action = kFinish;
    }
  }
  // Messages in a deque keep their address while others are appended.
  if (action == kWrite) reactor_->StartWrite(next);
  if (action == kFinish) reactor_->Finish(status);
}

}  // namespace faultline::broker
