// One attached VM: its regions and their sources or device pools, its
// secret token, quota, single-flight table, statistics, its staging area
// (when granted), the Faults stream it is connected on and the frame
// revocations it has not confirmed yet.
//
// Thread-safe: a session is shared by the stream reactor, workers and admin
// calls; immutable fields are set at construction, the rest lock.
#ifndef FAULTLINE_BROKER_SESSION_SESSION_H_
#define FAULTLINE_BROKER_SESSION_SESSION_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/devmem/frame_pool.h"
#include "broker/net/peer_credentials.h"
#include "broker/policy/quota.h"
#include "broker/policy/single_flight.h"
#include "broker/sources/source.h"
#include "broker/staging/staging_area.h"
#include "broker/observe/stats.h"
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

  // `staging` is null when the session has no staging area.
  Session(Identity identity, v1::Limits limits,
          std::map<uint32_t, std::unique_ptr<SessionRegion>> regions,
          std::unique_ptr<StagingArea> staging = nullptr);

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
  const std::map<uint32_t, std::unique_ptr<SessionRegion>>& regions() const {
    return regions_;
  }

  // Null when no staging area was granted.
  StagingArea* staging() const { return staging_.get(); }
  // The session's staging counters since attach (kept with or without an
  // area: a release on a session without one is refused and counted).
  StagingTotals& staging_stats() { return staging_stats_; }

  SessionQuota& quota() { return quota_; }
  SingleFlight& single_flight() { return single_flight_; }
  FaultStats& stats() { return stats_; }

  // The stream the session's answers and revocations go to. A new stream
  // replaces the old one (a VMM that reconnected).
  void SetStream(std::shared_ptr<FaultStreamSink> sink)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Clears the stream if it is still `sink`.
  void ClearStream(const FaultStreamSink* sink) ABSL_LOCKS_EXCLUDED(mu_);
  std::shared_ptr<FaultStreamSink> stream() const ABSL_LOCKS_EXCLUDED(mu_);

  struct Revocation {
    uint64_t revocation_id = 0;
    uint32_t region_id = 0;
    uint64_t offset = 0;
    uint64_t frame = 0;
  };
  // Records a revocation sent to the VMM; returns it with its id set.
  Revocation AddRevocation(uint32_t region_id, uint64_t offset, uint64_t frame)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The VMM confirmed; nullopt for an id the session does not have.
  std::optional<Revocation> TakeRevocation(uint64_t revocation_id)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Detached: work still queued for the session is dropped.
  void MarkDetached() { detached_.store(true); }
  bool detached() const { return detached_.load(); }

  v1::SessionInfo Info() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const Identity identity_;
  const v1::Limits limits_;
  const absl::Time attached_at_;
  const std::map<uint32_t, std::unique_ptr<SessionRegion>> regions_;
  const std::unique_ptr<StagingArea> staging_;
  SessionQuota quota_;
  SingleFlight single_flight_;
  FaultStats stats_;
  StagingTotals staging_stats_;
  std::atomic<bool> detached_{false};

  mutable absl::Mutex mu_;
  std::shared_ptr<FaultStreamSink> stream_ ABSL_GUARDED_BY(mu_);
  uint64_t next_revocation_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, Revocation> revocations_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SESSION_SESSION_H_
