// The broker's half of the frame revocation handshake, for one session:
//  1. Revoke (an admin's RevokeFrame): the pool takes the frame away from the
//     BAR page (FramePool::Revoke) and a FrameRevocation goes to the VMM on
//     the session's Faults stream;
//  2. the VMM unmaps the frame, so the next touch faults again, and sends
//     RevocationDone; Confirm then gives a first-touch frame back to the
//     pool's free list. Unknown ids are ignored: a reconnected VMM may
//     confirm twice.
// The VMM's half is vmm/fault's installer.
//
// Thread-safe.
#ifndef FAULTLINE_BROKER_DEVMEM_FRAME_REVOCATIONS_H_
#define FAULTLINE_BROKER_DEVMEM_FRAME_REVOCATIONS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/devmem/frame_pool.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

class FrameRevocations {
 public:
  // Queues a message on the session's stream; false when the stream ended.
  using Send = std::function<bool(v1::FaultStreamResponse message)>;

  // `owner` names the session in messages ("session 3f2a...").
  explicit FrameRevocations(std::string owner) : owner_(std::move(owner)) {}

  // Revokes the frame backing BAR page `offset` (page-aligned, inside the
  // region: the caller checked) of device region `region_id`, backed by
  // `pool`, and sends the FrameRevocation. Returns its id. The pool's
  // FAILED_PRECONDITION when the page has no frame; UNAVAILABLE, with the
  // revocation undone, when the stream ended before it was sent.
  absl::StatusOr<uint64_t> Revoke(std::shared_ptr<FramePool> pool,
                                  uint32_t region_id, uint64_t offset,
                                  const Send& send) ABSL_LOCKS_EXCLUDED(mu_);

  // The VMM unmapped revocation `revocation_id` (RevocationDone).
  void Confirm(uint64_t revocation_id) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Pending {
    std::shared_ptr<FramePool> pool;
    uint64_t frame = 0;
  };
  // The revocation, if still pending, removed from the table.
  std::optional<Pending> Take(uint64_t revocation_id) ABSL_LOCKS_EXCLUDED(mu_);

  const std::string owner_;
  absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, Pending> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_DEVMEM_FRAME_REVOCATIONS_H_
