#include "broker/session/session_registry.h"

#include <sys/random.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "broker/net/peer_credentials.h"
#include "broker/session/authorization.h"
#include "broker/session/region_validation.h"
#include "broker/sources/make_source.h"
#include "proto/base/errno_status.h"
#include "proto/base/quote.h"
#include "proto/base/status_macros.h"

namespace faultline::broker {

absl::StatusOr<std::string> RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t filled = 0;
  while (filled < bytes) {
    ssize_t n = RetryOnEintr(
        [&] { return ::getrandom(raw.data() + filled, bytes - filled, 0); });
    if (n < 0) return ErrnoError("getrandom");
    filled += static_cast<size_t>(n);
  }
  return absl::BytesToHexString(raw);
}

namespace {

// A granted pool file the session's owner can open (and no other uid).
absl::Status GivePoolToOwner(const FramePool& pool, const PeerIdentity& peer) {
  ASSIGN_OR_RETURN(const uid_t owner, pool.FileOwner());
  ASSIGN_OR_RETURN(
      const bool give,
      MustGiveFile(peer, owner,
                   absl::StrCat("device pool file ", pool.options().path)));
  return give ? pool.GiveTo(peer.uid, peer.gid) : absl::OkStatus();
}

// A staging area the session's owner can open, or none (and why, on
// stderr): the VMM then gets page bytes inline.
std::unique_ptr<StagingArea> GiveStagingToOwner(
    std::unique_ptr<StagingArea> area, const PeerIdentity& peer,
    const std::string& session_id) {
  absl::StatusOr<bool> give = MustGiveFile(
      peer, ::geteuid(), absl::StrCat("staging file ", area->path()));
  absl::Status given = !give.ok() ? give.status()
                       : *give    ? area->GiveTo(peer.uid, peer.gid)
                                  : absl::OkStatus();
  if (given.ok()) return area;
  std::fprintf(stderr, "broker: session %s gets no staging area: %s\n",
               session_id.c_str(), std::string(given.message()).c_str());
  return nullptr;
}

}  // namespace

absl::StatusOr<std::map<uint32_t, UniqueFd>> SessionRegistry::OpenImages(
    const v1::AttachRequest& request, const PeerIdentity& peer,
    absl::Time deadline) const {
  std::map<uint32_t, UniqueFd> images;
  for (const v1::Region& region : request.regions()) {
    if (!region.source().has_image()) continue;
    absl::StatusOr<ImageAccess> access =
        ImageAccessFor(peer, image_options_.image_dir);
    absl::StatusOr<UniqueFd> file =
        access.ok() ? image_opener_.Open(region.source().image().path(),
                                         *access, deadline)
                    : absl::StatusOr<UniqueFd>(access.status());
    if (!file.ok()) {
      return absl::Status(file.status().code(),
                          absl::StrCat("region ", region.region_id(), ": ",
                                       file.status().message()));
    }
    images[region.region_id()] = *std::move(file);
  }
  return images;
}

absl::StatusOr<std::map<uint32_t, std::unique_ptr<SessionRegion>>>
SessionRegistry::BuildRegions(const v1::AttachRequest& request,
                              const std::string& session_id,
                              const PeerIdentity& peer,
                              std::map<uint32_t, UniqueFd> images,
                              v1::AttachResponse* response) {
  std::map<uint32_t, std::unique_ptr<SessionRegion>> regions;
  for (const v1::Region& region : request.regions()) {
    auto entry = std::make_unique<SessionRegion>();
    entry->region = region;
    v1::RegionGrant* grant = response->add_regions();
    grant->set_region_id(region.region_id());
    if (region.kind() == v1::REGION_KIND_DEVICE_MEMORY) {
      absl::StatusOr<std::shared_ptr<FramePool>> pool =
          pools_.Acquire(region.source().device(), session_id);
      if (!pool.ok()) {
        return absl::Status(pool.status().code(),
                            absl::StrCat("region ", region.region_id(), ": ",
                                         pool.status().message()));
      }
      entry->pool = *std::move(pool);
      if (absl::Status given = GivePoolToOwner(*entry->pool, peer);
          !given.ok()) {
        return absl::Status(
            given.code(),
            absl::StrCat("region ", region.region_id(), ": ", given.message()));
      }
      grant->set_device_memory_path(entry->pool->options().path);
      grant->set_device_frame_count(entry->pool->options().frame_count);
    } else {
      absl::StatusOr<std::unique_ptr<PageSource>> source =
          MakeSource(region, stores_, std::move(images[region.region_id()]));
      if (!source.ok()) {
        return absl::Status(source.status().code(),
                            absl::StrCat("region ", region.region_id(), ": ",
                                         source.status().message()));
      }
      entry->source = *std::move(source);
    }
    regions[region.region_id()] = std::move(entry);
  }
  return regions;
}

absl::StatusOr<std::shared_ptr<Session>> SessionRegistry::Attach(
    const v1::AttachRequest& request, const PeerIdentity& peer,
    v1::AttachResponse* response, absl::Time deadline) {
  RETURN_IF_ERROR(ValidateAttach(request));
  // Before anything is created: an image the caller may not read, or one
  // that does not open in time, leaves nothing behind.
  using ImageFiles = std::map<uint32_t, UniqueFd>;
  ASSIGN_OR_RETURN(ImageFiles images, OpenImages(request, peer, deadline));
  std::shared_ptr<Session> stale;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, session] : sessions_) {
      if (session->vm_name() != request.vm_name()) continue;
      // A stream the broker still sees may belong to a VMM that was just
      // killed (its socket not yet seen closed, or held open by a child):
      // its owner may take the name over once the process is gone.
      if (session->stream() != nullptr &&
          !(SameOwnerOrRoot(session->peer(), peer) &&
            PeerProcessExited(session->peer()))) {
        return absl::AlreadyExistsError(absl::StrCat(
            "VM ", Quoted(request.vm_name()), " is attached as session ", id,
            " with a connected stream; pick another vm_name or detach it"));
      }
      if (!SameOwnerOrRoot(session->peer(), peer)) {
        return absl::AlreadyExistsError(absl::StrCat(
            "VM ", Quoted(request.vm_name()), " is attached as session ", id,
            " by ", session->peer().description,
            "; only its owner may replace it"));
      }
      stale = session;
    }
  }
  if (stale != nullptr) {
    // Its VMM is gone: the new attach takes the name over, and a stream
    // still open on the old session ends now.
    if (std::shared_ptr<FaultStreamSink> old_stream = stale->stream()) {
      old_stream->Fail(absl::AbortedError(absl::StrCat(
          "VM ", Quoted(request.vm_name()), " was taken over by a new attach;",
          " the process that opened this stream (", stale->peer().description,
          ") has exited")));
    }
    Detach(stale->id()).IgnoreError();
  }

  ASSIGN_OR_RETURN(std::string session_id, RandomHex(8));
  ASSIGN_OR_RETURN(std::string token, RandomHex(16));
  v1::AttachResponse built;
  // Only a peer on this machine can map the file; others get inline bytes.
  std::unique_ptr<StagingArea> staging;
  if (request.want_staging() &&
      peer.transport == PeerIdentity::Transport::kUnix &&
      staging_options_.slot_count > 0) {
    ASSIGN_OR_RETURN(
        staging, SessionStaging::CreateArea(staging_options_.dir, session_id,
                                            staging_options_.slot_count));
    staging = GiveStagingToOwner(std::move(staging), peer, session_id);
    if (staging != nullptr) *built.mutable_staging() = staging->Grant();
  }
  absl::StatusOr<std::map<uint32_t, std::unique_ptr<SessionRegion>>> regions =
      BuildRegions(request, session_id, peer, std::move(images), &built);
  if (!regions.ok()) {
    // Give back the pools the regions before the failing one took.
    for (const v1::Region& region : request.regions()) {
      if (region.kind() != v1::REGION_KIND_DEVICE_MEMORY) continue;
      const v1::DeviceSource& device = region.source().device();
      pools_.Release(device.sharing() == v1::SHARING_SHARED
                         ? device.pool()
                         : absl::StrCat(device.pool(), "@", session_id),
                     session_id);
    }
    return regions.status();
  }

  Session::Identity identity;
  identity.id = session_id;
  identity.token = token;
  identity.vm_name = request.vm_name();
  identity.peer = peer;
  identity.vcpu_count = request.vcpu_count();
  std::shared_ptr<Session> session;
  {
    absl::MutexLock lock(&mu_);
    // Checked again: another attach of the name may have won meanwhile.
    for (const auto& [id, live] : sessions_) {
      if (live->vm_name() == request.vm_name()) {
        session = live;
        break;
      }
    }
    if (session == nullptr) {
      identity.serial = next_serial_++;
      session = std::make_shared<Session>(std::move(identity), limits_,
                                          *std::move(regions),
                                          std::move(staging), &staging_totals_);
      sessions_[session_id] = session;
      *response = std::move(built);
      response->set_session_id(session_id);
      response->set_session_token(token);
      *response->mutable_limits() = limits_;
      return session;
    }
  }
  // Lost the race: give back what this attach took.
  for (const auto& [id, region] : *regions) {
    if (region->pool != nullptr) {
      pools_.Release(region->pool->options().name, session_id);
    }
  }
  return absl::AlreadyExistsError(
      absl::StrCat("VM ", Quoted(request.vm_name()),
                   " was attached meanwhile as session ", session->id()));
}

void SessionRegistry::Retire(Session& session) {
  for (const auto& [id, region] : session.regions()) {
    if (region->pool != nullptr) {
      pools_.Release(region->pool->options().name, session.id());
    }
  }
  session.staging().RemoveFile();
}

absl::Status SessionRegistry::Detach(const std::string& session_id) {
  std::shared_ptr<Session> session;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) {
      return absl::NotFoundError(
          absl::StrCat("no session ", Quoted(session_id)));
    }
    session = std::move(it->second);
    sessions_.erase(it);
  }
  session->MarkDetached();
  Retire(*session);
  return absl::OkStatus();
}

std::vector<std::shared_ptr<Session>> SessionRegistry::ReapIdle(
    absl::Duration grace) {
  const absl::Time now = absl::Now();
  std::vector<std::shared_ptr<Session>> reaped;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (it->second->DetachIfIdle(now, grace)) {
        reaped.push_back(std::move(it->second));
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& session : reaped) Retire(*session);
  return reaped;
}

std::shared_ptr<Session> SessionRegistry::Find(
    const std::string& session_id) const {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(session_id);
  return it == sessions_.end() ? nullptr : it->second;
}

absl::StatusOr<std::shared_ptr<Session>> SessionRegistry::Get(
    const std::string& session_id) const {
  std::shared_ptr<Session> session = Find(session_id);
  if (session == nullptr) {
    return absl::NotFoundError(absl::StrCat("no session ", Quoted(session_id)));
  }
  return session;
}

std::vector<std::shared_ptr<Session>> SessionRegistry::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<Session>> sessions;
  for (const auto& [id, session] : sessions_) sessions.push_back(session);
  return sessions;
}

}  // namespace faultline::broker
