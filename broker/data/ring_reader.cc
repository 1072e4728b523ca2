#include "broker/data/ring_reader.h"

#include <optional>
#include <utility>

#include "absl/time/clock.h"

namespace faultline::broker {
namespace {

// The longest a reader sleeps before it looks at its stop flag and the ring
// again (a wake-up it missed costs no more).
constexpr absl::Duration kRingSleep = absl::Milliseconds(10);
// A newer stream's record waits for that stream's reader this long a turn.
constexpr absl::Duration kHandOverPause = absl::Microseconds(200);

}  // namespace

RingReader::RingReader(SessionRing& ring, uint64_t generation,
                       Callbacks callbacks)
    : ring_(ring),
      generation_(generation),
      callbacks_(std::move(callbacks)),
      thread_([this] { Loop(); }) {}

void RingReader::Stop() {
  stop_.store(true);
  ring_.Wake();
  {
    absl::MutexLock lock(&resumed_->mu);
    resumed_->done = true;  // ends a throttled wait
  }
  if (!thread_.joinable()) return;
  // A stream finished from a callback ends on this thread: it cannot wait
  // for itself, and returns to Loop, which sees the flag.
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();
    return;
  }
  thread_.join();
}

void RingReader::Loop() {
  // An older stream's reader hands over at its next turn.
  ring_.Want(generation_);
  while (!stop_.load() && !ring_.Superseded(generation_)) {
    if (!ring_.TryAcquire(generation_)) {
      absl::SleepFor(kHandOverPause);
      continue;
    }
    Serve();
    ring_.Relinquish(generation_);
    return;
  }
}

void RingReader::Serve() {
  while (!stop_.load() && !ring_.Superseded(generation_)) {
    if (absl::Status broken = ring_.broken(); !broken.ok()) {
      callbacks_.broken(broken);
      return;
    }
    if (!MayTake()) continue;
    absl::StatusOr<std::optional<RingRequest>> request = ring_.TakeRequest();
    if (!request.ok()) {
      callbacks_.broken(request.status());
      return;
    }
    if (!request->has_value()) {
      ring_.Wait(kRingSleep);
      continue;
    }
    RingRequest& next = **request;
    if (next.generation > generation_) {
      ring_.Hold(std::move(next));
      absl::SleepFor(kHandOverPause);
      continue;
    }
    if (next.generation < generation_) continue;
    if (!next.released_slots.empty()) callbacks_.release(next.released_slots);
    if (next.fault.has_value()) callbacks_.fault(*next.fault);
  }
}

bool RingReader::MayTake() {
  if (!callbacks_.may_take) return true;
  {
    absl::MutexLock lock(&resumed_->mu);
    resumed_->done = false;
  }
  if (callbacks_.may_take([resumed = resumed_] {
        absl::MutexLock lock(&resumed->mu);
        resumed->done = true;
      })) {
    return true;
  }
  // The VMM's requests wait in the ring meanwhile.
  absl::MutexLock lock(&resumed_->mu);
  while (!resumed_->done && !stop_.load() && !ring_.Superseded(generation_)) {
    resumed_->mu.AwaitWithTimeout(absl::Condition(&resumed_->done), kRingSleep);
  }
  return false;  // asked again at the next turn
}

}  // namespace faultline::broker
