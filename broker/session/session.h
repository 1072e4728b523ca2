// One attached VM: its regions and their sources or device pools, its
// secret token, quota, single-flight table, statistics, its staging (area
// when granted, counters), the Faults stream it is connected on and the
// frame revocations it has not confirmed yet.
//
// Thread-safe: a session is shared by the stream reactor, workers and admin
// calls; immutable fields are set at construction, the rest lock.
#ifndef FAULTLINE_BROKER_SESSION_SESSION_H_
#define FAULTLINE_BROKER_SESSION_SESSION_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "broker/devmem/frame_pool.h"
#include "broker/devmem/frame_revocations.h"
#include "broker/net/peer_credentials.h"
#include "broker/observe/stats.h"
#include "broker/policy/quota.h"
#include "broker/policy/read_throttle.h"
#include "broker/policy/single_flight.h"
#include "broker/sources/source.h"
#include "broker/staging/session_staging.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

// Where a session's stream messages go; implemented by the stream reactor.
class FaultStreamSink {
 public:
  virtual ~FaultStreamSink() = default;
  // Queues `response` for the client; false when the stream has ended.
  virtual bool Send(v1::FaultStreamResponse response) = 0;
  // Ends the stream with `status` once what is queued has been written.
  virtual void Close(const absl::Status& status) = 0;
  // Ends the stream with `status` now, dropping what is queued.
  virtual void Fail(const absl::Status& status) = 0;
};

struct SessionRegion {
  v1::Region region;
  std::unique_ptr<PageSource> source;  // RAM regions.
  std::shared_ptr<FramePool> pool;     // Device regions.
  FaultStats stats;
};

class Session {
 public:
  struct Identity {
    std::string id;
    std::string token;
    std::string vm_name;
    PeerIdentity peer;
    // Numbers the session's fair-queue; unique for the broker's lifetime.
    uint64_t serial = 0;
    uint32_t vcpu_count = 0;
  };

  // `staging_area` is null when the session has no staging area; its
  // staging counters also add to `broker_staging_totals` when given.
  Session(Identity identity, v1::Limits limits,
          std::map<uint32_t, std::unique_ptr<SessionRegion>> regions,
          std::unique_ptr<StagingArea> staging_area = nullptr,
          StagingTotals* broker_staging_totals = nullptr);

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::string& id() const { return identity_.id; }
  const std::string& vm_name() const { return identity_.vm_name; }
  const PeerIdentity& peer() const { return identity_.peer; }
  uint64_t serial() const { return identity_.serial; }
  const v1::Limits& limits() const { return limits_; }

  // Constant-time comparison with the session's secret.
  bool TokenMatches(absl::string_view token) const;

  // Null when the session declared no such region.
  SessionRegion* FindRegion(uint32_t region_id) const;
  // The region a fault (or a revocation) names, if `offset` is a page of a
  // region the session declared: the one check of a fault's target.
  // INVALID_ARGUMENT naming the value otherwise.
  absl::StatusOr<SessionRegion*> FaultTarget(uint32_t region_id,
                                             uint64_t offset) const;
  const std::map<uint32_t, std::unique_ptr<SessionRegion>>& regions() const {
    return regions_;
  }

  // Its staging slots and counters (kept with or without an area: a
  // release on a session without one is refused and counted).
  SessionStaging& staging() { return staging_; }

  SessionQuota& quota() { return quota_; }
  // What every transport of the session asks before taking its next
  // request (policy/read_throttle.h).
  ReadThrottle& throttle() { return throttle_; }
  SingleFlight& single_flight() { return single_flight_; }
  FaultStats& stats() { return stats_; }

  // Makes `sink` the stream the session's answers and revocations go to,
  // and returns its hold on the staging slots. A session has one stream at
  // most: a stream still open (a VMM that reconnected before the broker saw
  // its old stream die) is ended with ABORTED, and keeps its slots until it
  // is over. NOT_FOUND once the session is detached.
  absl::StatusOr<std::shared_ptr<StreamSlots>> OpenStream(
      std::shared_ptr<FaultStreamSink> sink) ABSL_LOCKS_EXCLUDED(mu_);
  // Clears the stream if it is still `sink`.
  void ClearStream(const FaultStreamSink* sink) ABSL_LOCKS_EXCLUDED(mu_);
  std::shared_ptr<FaultStreamSink> stream() const ABSL_LOCKS_EXCLUDED(mu_);

  // Takes the frame away from BAR page `offset` of device region
  // `region_id` and tells the VMM on the session's stream (the handshake is
  // devmem's FrameRevocations). INVALID_ARGUMENT for a region that is not a
  // device region of the session or a bad offset, FAILED_PRECONDITION with
  // no stream or no frame at that page.
  absl::StatusOr<uint64_t> RevokeFrame(uint32_t region_id, uint64_t offset);
  // The VMM unmapped it (RevocationDone); unknown ids are ignored.
  void ConfirmRevocation(uint64_t revocation_id) {
    revocations_.Confirm(revocation_id);
  }

  // Detached: work still queued for the session is dropped, and no stream
  // opens on it any more.
  void MarkDetached() ABSL_LOCKS_EXCLUDED(mu_);
  bool detached() const { return detached_.load(); }

  // A session-scoped call arrived: the session is in use.
  void Touch() { last_active_ns_.store(absl::GetCurrentTimeNanos()); }
  // Marks the session detached and returns true if it has had no stream
  // and no call for `grace` (its VMM is gone); false otherwise. Atomic with
  // OpenStream, so a stream that opens meanwhile keeps its session.
  bool DetachIfIdle(absl::Time now, absl::Duration grace)
      ABSL_LOCKS_EXCLUDED(mu_);

  v1::SessionInfo Info() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const Identity identity_;
  const v1::Limits limits_;
  const absl::Time attached_at_;
  const std::map<uint32_t, std::unique_ptr<SessionRegion>> regions_;
  SessionStaging staging_;
  SessionQuota quota_;
  ReadThrottle throttle_;
  SingleFlight single_flight_;
  FaultStats stats_;
  FrameRevocations revocations_;
  std::atomic<bool> detached_{false};
  // When the session last had a call or its stream ended.
  std::atomic<int64_t> last_active_ns_;

  mutable absl::Mutex mu_;
  std::shared_ptr<FaultStreamSink> stream_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SESSION_SESSION_H_
