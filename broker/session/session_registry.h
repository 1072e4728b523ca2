// The broker's live sessions: Attach creates one (regions validated, sources
// opened, pools acquired, a random id and token), Detach ends it.
//
// Thread-safe.
#ifndef FAULTLINE_BROKER_SESSION_SESSION_REGISTRY_H_
#define FAULTLINE_BROKER_SESSION_SESSION_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/devmem/frame_pool_registry.h"
#include "broker/net/peer_credentials.h"
#include "broker/observe/stats.h"
#include "broker/session/session.h"
#include "broker/sources/image_open.h"
#include "broker/sources/store_backend.h"
#include "broker/staging/staging_counters.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

// Staging areas granted to co-located VMMs that ask for one.
struct StagingOptions {
  // Where the area files live: `faultline-staging-<session>@<pid>`.
  std::string dir = "/dev/shm";
  // Slots per area; 0 grants none.
  uint32_t slot_count = 0;
  // How long a fault ring's reader spins before it sleeps.
  absl::Duration ring_spin = absl::ZeroDuration();
};

// Where TCP callers' images are (authorization's ImageAccessFor); empty:
// none over TCP.
struct ImageOptions {
  std::string image_dir;
};

class SessionRegistry {
 public:
  SessionRegistry(FramePoolRegistry& pools, StoreBackend& stores,
                  v1::Limits limits, StagingOptions staging = {},
                  ImageOptions images = {})
      : pools_(pools),
        stores_(stores),
        limits_(std::move(limits)),
        staging_options_(std::move(staging)),
        image_options_(std::move(images)) {}

  // Validates `request` and creates the session; fills `response`. Images
  // are opened first, with `peer`'s rights and by `deadline` (nothing is
  // created before they are). A peer on the Unix socket that sets
  // want_staging gets a staging area. A VM name already live is
  // ALREADY_EXISTS, unless that session's stream is gone (a VMM that
  // restarted) and the caller is its owner or root, in which case the old
  // session is detached.
  absl::StatusOr<std::shared_ptr<Session>> Attach(
      const v1::AttachRequest& request, const PeerIdentity& peer,
      v1::AttachResponse* response,
      absl::Time deadline = absl::InfiniteFuture()) ABSL_LOCKS_EXCLUDED(mu_);

  // Removes the session and releases its pools. NOT_FOUND if unknown.
  absl::Status Detach(const std::string& session_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Detaches every session that has had no stream and no call for `grace`
  // (a VMM that was killed) as Detach does, and returns them.
  std::vector<std::shared_ptr<Session>> ReapIdle(absl::Duration grace)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Null for an unknown session.
  std::shared_ptr<Session> Find(const std::string& session_id) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // The session, or NOT_FOUND naming the id.
  absl::StatusOr<std::shared_ptr<Session>> Get(
      const std::string& session_id) const ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<std::shared_ptr<Session>> List() const ABSL_LOCKS_EXCLUDED(mu_);

  // Every fault the broker answered since it started.
  FaultStats& total() { return total_; }
  // Pages staged and sent inline, refused releases, since start.
  StagingTotals& staging_totals() { return staging_totals_; }

 private:
  // The files of the request's image regions, by region id.
  absl::StatusOr<std::map<uint32_t, UniqueFd>> OpenImages(
      const v1::AttachRequest& request, const PeerIdentity& peer,
      absl::Time deadline) const;
  absl::StatusOr<std::map<uint32_t, std::unique_ptr<SessionRegion>>>
  BuildRegions(const v1::AttachRequest& request, const std::string& session_id,
               const PeerIdentity& peer, std::map<uint32_t, UniqueFd> images,
               v1::AttachResponse* response);
  // What is left of a session once it is out of the map: its pools are
  // released and its staging file goes.
  void Retire(Session& session);

  FramePoolRegistry& pools_;
  StoreBackend& stores_;
  const v1::Limits limits_;
  const StagingOptions staging_options_;
  const ImageOptions image_options_;
  const ImageOpener image_opener_;
  FaultStats total_;
  StagingTotals staging_totals_;

  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Session>> sessions_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_serial_ ABSL_GUARDED_BY(mu_) = 1;
};

// 2 * bytes hex digits from the kernel's random source.
absl::StatusOr<std::string> RandomHex(size_t bytes);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SESSION_SESSION_REGISTRY_H_
