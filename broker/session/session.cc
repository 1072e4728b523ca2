#include "broker/session/session.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/session/authorization.h"
#include "broker/session/region_validation.h"

namespace faultline::broker {

Session::Session(Identity identity, v1::Limits limits,
                 std::map<uint32_t, std::unique_ptr<SessionRegion>> regions,
                 std::unique_ptr<StagingArea> staging_area,
                 StagingTotals* broker_staging_totals)
    : identity_(std::move(identity)),
      limits_(std::move(limits)),
      attached_at_(absl::Now()),
      regions_(std::move(regions)),
      staging_(identity_.id, std::move(staging_area), broker_staging_totals),
      quota_(limits_.max_faults_in_flight(), limits_.max_faults_per_second()),
      throttle_(quota_, limits_.max_reasks_per_second()),
      revocations_(absl::StrCat("session ", identity_.id)),
      last_active_ns_(absl::ToUnixNanos(attached_at_)) {}

bool Session::TokenMatches(absl::string_view token) const {
  return SecretsEqual(token, identity_.token);
}

SessionRegion* Session::FindRegion(uint32_t region_id) const {
  auto it = regions_.find(region_id);
  return it == regions_.end() ? nullptr : it->second.get();
}

absl::StatusOr<SessionRegion*> Session::FaultTarget(uint32_t region_id,
                                                    uint64_t offset) const {
  SessionRegion* region = FindRegion(region_id);
  if (region == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("region_id ", region_id, " is not a region of session ",
                     id(), " (VM \"", vm_name(), "\")"));
  }
  if (absl::Status offset_ok = ValidateFaultTarget(region->region, offset);
      !offset_ok.ok()) {
    return offset_ok;
  }
  return region;
}

absl::StatusOr<std::shared_ptr<StreamSlots>> Session::OpenStream(
    std::shared_ptr<FaultStreamSink> sink) {
  std::shared_ptr<FaultStreamSink> replaced;
  std::shared_ptr<StreamSlots> slots;
  {
    absl::MutexLock lock(&mu_);
    if (detached_.load()) {
      return absl::NotFoundError(
          absl::StrCat("session ", id(), " was detached: attach again"));
    }
    // Under the lock, so the newest stream has the newest slot epoch.
    slots = staging_.OpenStream();
    replaced = std::exchange(stream_, std::move(sink));
  }
  // Ended outside the lock: ending a stream takes its writer's lock.
  if (replaced != nullptr) {
    replaced->Fail(absl::AbortedError(absl::StrCat(
        "session ", id(),
        " opened a new Faults stream; this one is replaced (one stream per "
        "session)")));
  }
  return slots;
}

void Session::MarkDetached() {
  absl::MutexLock lock(&mu_);
  detached_.store(true);
}

void Session::ClearStream(const FaultStreamSink* sink) {
  absl::MutexLock lock(&mu_);
  if (stream_.get() == sink) stream_.reset();
  // The grace period before reaping starts when the stream is gone.
  Touch();
}

bool Session::DetachIfIdle(absl::Time now, absl::Duration grace) {
  absl::MutexLock lock(&mu_);
  if (stream_ != nullptr || detached_.load()) return false;
  if (now - absl::FromUnixNanos(last_active_ns_.load()) < grace) return false;
  detached_.store(true);
  return true;
}

std::shared_ptr<FaultStreamSink> Session::stream() const {
  absl::MutexLock lock(&mu_);
  return stream_;
}

absl::StatusOr<uint64_t> Session::RevokeFrame(uint32_t region_id,
                                              uint64_t offset) {
  SessionRegion* region = FindRegion(region_id);
  if (region == nullptr || region->pool == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("session ", id(), " has no device region ", region_id));
  }
  if (absl::Status target = ValidateFaultTarget(region->region, offset);
      !target.ok()) {
    return target;
  }
  std::shared_ptr<FaultStreamSink> sink = stream();
  if (sink == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session ", id(), " has no Faults stream to send the revocation on"));
  }
  return revocations_.Revoke(region->pool, region_id, offset,
                             [&sink](v1::FaultStreamResponse message) {
                               return sink->Send(std::move(message));
                             });
}

v1::SessionInfo Session::Info() const {
  v1::SessionInfo info;
  info.set_session_id(identity_.id);
  info.set_vm_name(identity_.vm_name);
  info.set_peer(identity_.peer.description);
  for (const auto& [id, region] : regions_)
    *info.add_regions() = region->region;
  info.set_attached_unix_ms(absl::ToUnixMillis(attached_at_));
  info.set_faults_in_flight(quota_.in_flight());
  *info.mutable_limits() = limits_;
  absl::MutexLock lock(&mu_);
  info.set_stream_connected(stream_ != nullptr);
  return info;
}

}  // namespace faultline::broker
