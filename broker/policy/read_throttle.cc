#include "broker/policy/read_throttle.h"

#include <algorithm>
#include <utility>

namespace faultline::broker {

ReadThrottle::ReadThrottle(SessionQuota& quota, uint32_t max_reasks_per_second)
    : quota_(quota) {
  if (max_reasks_per_second != 0) {
    reasks_.emplace(max_reasks_per_second,
                    std::max(1.0, max_reasks_per_second / 20.0));
  }
}

ReadThrottle::Verdict ReadThrottle::MayTake(absl::Time now,
                                            const Resume& resume) {
  absl::MutexLock lock(&mu_);
  const SessionQuota::Room room = quota_.RoomAt(now);
  Verdict verdict;
  if (room.in_flight_full) {
    waiting_.push_back(resume);
    verdict.wait = Wait::kInFlight;
    return verdict;
  }
  const absl::Duration reask_wait =
      reasks_.has_value() ? reasks_->Wait(now) : absl::ZeroDuration();
  if (room.token_wait > absl::ZeroDuration() && room.token_wait >= reask_wait) {
    verdict.wait = Wait::kFaultRate;
    verdict.not_before = now + room.token_wait;
  } else if (reask_wait > absl::ZeroDuration()) {
    verdict.wait = Wait::kReaskRate;
    verdict.not_before = now + reask_wait;
  }
  return verdict;
}

void ReadThrottle::Took(bool reask, absl::Time now) {
  if (!reask) return;
  absl::MutexLock lock(&mu_);
  if (reasks_.has_value()) reasks_->Take(now);
}

std::vector<ReadThrottle::Resume> ReadThrottle::Answered() {
  absl::MutexLock lock(&mu_);
  if (waiting_.empty() || quota_.in_flight_full()) return {};
  return std::exchange(waiting_, {});
}

size_t ReadThrottle::waiting() const {
  absl::MutexLock lock(&mu_);
  return waiting_.size();
}

}  // namespace faultline::broker
