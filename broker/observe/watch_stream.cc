#include "broker/observe/watch_stream.h"

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace faultline::broker {
namespace {

using Reactor = grpc::ServerWriteReactor<v1::FaultEvent>;

// Shared with the hub's wake callback, so it outlives the reactor; after
// Finish it never touches the reactor again.
class WatchState : public WatchHandle {
 public:
  explicit WatchState(Reactor* reactor) : reactor_(reactor) {}

  void SetQueue(std::shared_ptr<WatchQueue> queue) {
    absl::MutexLock lock(&mu_);
    queue_ = std::move(queue);
  }
  std::shared_ptr<WatchQueue> queue() {
    absl::MutexLock lock(&mu_);
    return queue_;
  }

  void Close() override {
    {
      absl::MutexLock lock(&mu_);
      closing_ = true;
    }
    Pump();
  }

  void WriteDone(bool ok) {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) closing_ = true;
    }
    Pump();
  }

  void Pump() {
    enum { kNothing, kWrite, kFinish } action = kNothing;
    {
      absl::MutexLock lock(&mu_);
      if (finished_ || writing_) return;
      if (!closing_ && queue_ != nullptr) {
        if (std::optional<v1::FaultEvent> event = queue_->Pop()) {
          // current_ is only touched while no write is in flight.
          current_ = *std::move(event);
          writing_ = true;
          action = kWrite;
        }
      }
      if (action == kNothing && closing_) {
        finished_ = true;
        action = kFinish;
      }
    }
    if (action == kWrite) reactor_->StartWrite(&current_);
    if (action == kFinish) reactor_->Finish(grpc::Status::OK);
  }

 private:
  Reactor* const reactor_;
  absl::Mutex mu_;
  std::shared_ptr<WatchQueue> queue_ ABSL_GUARDED_BY(mu_);
  v1::FaultEvent current_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

class WatchStream : public Reactor {
 public:
  WatchStream(WatchHub& hub, const std::string& session_filter,
              std::function<void(std::shared_ptr<WatchHandle>)> on_start,
              std::function<void(const WatchHandle*)> on_done)
      : hub_(hub),
        on_done_(std::move(on_done)),
        state_(std::make_shared<WatchState>(this)) {
    std::weak_ptr<WatchState> weak = state_;
    state_->SetQueue(hub_.Subscribe(session_filter, [weak] {
      if (auto state = weak.lock()) state->Pump();
    }));
    on_start(state_);
    // Headers now, so a client sees the watch is live before any event.
    StartSendInitialMetadata();
  }

  void OnWriteDone(bool ok) override { state_->WriteDone(ok); }
  void OnCancel() override { state_->Close(); }
  void OnDone() override {
    hub_.Unsubscribe(state_->queue());
    on_done_(state_.get());
    delete this;
  }

 private:
  WatchHub& hub_;
  const std::function<void(const WatchHandle*)> on_done_;
  const std::shared_ptr<WatchState> state_;
};

}  // namespace

grpc::ServerWriteReactor<v1::FaultEvent>* NewWatchStream(
    WatchHub& hub, const std::string& session_filter,
    std::function<void(std::shared_ptr<WatchHandle>)> on_start,
    std::function<void(const WatchHandle*)> on_done) {
  return new WatchStream(hub, session_filter, std::move(on_start),
                         std::move(on_done));
}

}  // namespace faultline::broker
