#include "broker/devmem/frame_revocations.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {

absl::StatusOr<uint64_t> FrameRevocations::Revoke(
    std::shared_ptr<FramePool> pool, uint32_t region_id, uint64_t offset,
    const Send& send) {
  absl::StatusOr<uint64_t> frame = pool->Revoke(offset / v1::wire::kPageBytes);
  if (!frame.ok()) return frame.status();
  uint64_t revocation_id;
  {
    absl::MutexLock lock(&mu_);
    revocation_id = next_id_++;
    pending_[revocation_id] = Pending{pool, *frame};
  }
  v1::FaultStreamResponse message;
  v1::FrameRevocation* sent = message.mutable_revocation();
  sent->set_revocation_id(revocation_id);
  sent->set_region_id(region_id);
  sent->set_offset(offset);
  sent->set_frame(*frame);
  if (!send(std::move(message))) {
    // The stream ended meanwhile; the VMM unmaps everything when it goes.
    if (std::optional<Pending> undone = Take(revocation_id)) {
      undone->pool->ReleaseRevoked(undone->frame);
    }
    return absl::UnavailableError(
        absl::StrCat(owner_, "'s stream ended before the revocation was sent"));
  }
  return revocation_id;
}

void FrameRevocations::Confirm(uint64_t revocation_id) {
  if (std::optional<Pending> done = Take(revocation_id)) {
    done->pool->ReleaseRevoked(done->frame);
  }
}

std::optional<FrameRevocations::Pending> FrameRevocations::Take(
    uint64_t revocation_id) {
  absl::MutexLock lock(&mu_);
  auto it = pending_.find(revocation_id);
  if (it == pending_.end()) return std::nullopt;
  Pending pending = std::move(it->second);
  pending_.erase(it);
  return pending;
}

}  // namespace faultline::broker
