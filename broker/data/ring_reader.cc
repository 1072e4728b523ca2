#include "broker/data/ring_reader.h"

#include <atomic>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace faultline::broker {
namespace {

// The longest a reader sleeps before it looks at its stop flag and the ring
// again (a wake-up it missed costs no more).
constexpr absl::Duration kRingSleep = absl::Milliseconds(10);
// A newer stream's record waits for that stream's reader this long a turn.
constexpr absl::Duration kHandOverPause = absl::Microseconds(200);

// Resumes from the throttle (which may keep one after the reader is gone)
// and Stop() count up here; a throttled reader waits for the count to move.
struct Wakeups {
  absl::Mutex mu;
  // Changed under `mu`, so a waiter's condition is looked at again; read
  // without it before asking the throttle.
  std::atomic<uint64_t> count{0};
};

}  // namespace

struct RingReader::State {
  State(std::shared_ptr<SessionRing> ring, uint64_t generation,
        Callbacks callbacks)
      : ring(std::move(ring)),
        generation(generation),
        callbacks(std::move(callbacks)),
        resume([wakeups = wakeups] {
          absl::MutexLock lock(&wakeups->mu);
          wakeups->count.fetch_add(1);
        }) {}

  void Loop();
  // Serves requests while it holds the ring's consumer.
  void Serve();
  // False when the session's throttle holds the ring; the reader then
  // sleeps until resumed (or stopped).
  bool MayTake();
  bool Ended() const { return stop.load() || ring->Superseded(generation); }

  const std::shared_ptr<SessionRing> ring;
  const uint64_t generation;
  const Callbacks callbacks;
  std::atomic<bool> stop{false};
  const std::shared_ptr<Wakeups> wakeups = std::make_shared<Wakeups>();
  // Built once: the throttle copies it only when it parks the reader.
  const std::function<void()> resume;
};

RingReader::RingReader(std::shared_ptr<SessionRing> ring, uint64_t generation,
                       Callbacks callbacks)
    : state_(std::make_shared<State>(std::move(ring), generation,
                                     std::move(callbacks))),
      thread_([state = state_] { state->Loop(); }) {}

void RingReader::Stop() {
  state_->stop.store(true);
  state_->ring->Wake();
  state_->resume();  // ends a throttled wait
  if (!thread_.joinable()) return;
  // A stream finished from a callback ends on this thread: it cannot wait
  // for itself; the thread holds its state and sees the flag.
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();
    return;
  }
  thread_.join();
}

void RingReader::State::Loop() {
  // An older stream's reader hands over at its next turn.
  ring->Want(generation);
  while (!Ended()) {
    if (!ring->TryAcquire(generation)) {
      absl::SleepFor(kHandOverPause);
      continue;
    }
    Serve();
    ring->Relinquish(generation);
    return;
  }
}

void RingReader::State::Serve() {
  while (!Ended()) {
    if (absl::Status broken = ring->broken(); !broken.ok()) {
      callbacks.broken(broken);
      return;
    }
    if (!MayTake()) continue;
    absl::StatusOr<std::optional<RingRequest>> request = ring->TakeRequest();
    if (!request.ok()) {
      callbacks.broken(request.status());
      return;
    }
    if (!request->has_value()) {
      ring->Wait(kRingSleep);
      continue;
    }
    RingRequest& next = **request;
    if (next.generation > generation) {
      ring->Hold(std::move(next));
      absl::SleepFor(kHandOverPause);
      continue;
    }
    if (next.generation < generation) continue;
    if (!next.released_slots.empty()) callbacks.release(next.released_slots);
    if (stop.load()) return;  // a callback may have ended the stream
    if (next.fault.has_value()) callbacks.fault(*next.fault);
  }
}

bool RingReader::State::MayTake() {
  if (!callbacks.may_take) return true;
  const uint64_t seen = wakeups->count.load();
  if (callbacks.may_take(resume)) return true;
  // The VMM's requests wait in the ring meanwhile.
  absl::MutexLock lock(&wakeups->mu);
  auto resumed = [this, seen] { return wakeups->count.load() != seen; };
  while (!resumed() && !Ended()) {
    wakeups->mu.AwaitWithTimeout(absl::Condition(&resumed), kRingSleep);
  }
  return false;  // asked again at the next turn
}

}  // namespace faultline::broker
