#include "broker/session/session.h"

namespace faultline::broker {

Session::Session(Identity identity, v1::Limits limits,
                 std::map<uint32_t, std::unique_ptr<SessionRegion>> regions,
                 std::unique_ptr<StagingArea> staging)
    : identity_(std::move(identity)),
      limits_(std::move(limits)),
      attached_at_(absl::Now()),
      regions_(std::move(regions)),
      staging_(std::move(staging)),
      quota_(limits_.max_faults_in_flight(), limits_.max_faults_per_second()) {}

bool Session::TokenMatches(absl::string_view token) const {
  const std::string& secret = identity_.token;
  if (token.size() != secret.size()) return false;
  unsigned char difference = 0;
  for (size_t i = 0; i < secret.size(); ++i) {
    difference |= static_cast<unsigned char>(secret[i] ^ token[i]);
  }
  return difference == 0;
}

SessionRegion* Session::FindRegion(uint32_t region_id) const {
  auto it = regions_.find(region_id);
  return it == regions_.end() ? nullptr : it->second.get();
}

void Session::SetStream(std::shared_ptr<FaultStreamSink> sink) {
  absl::MutexLock lock(&mu_);
  stream_ = std::move(sink);
}

void Session::ClearStream(const FaultStreamSink* sink) {
  absl::MutexLock lock(&mu_);
  if (stream_.get() == sink) stream_.reset();
}

std::shared_ptr<FaultStreamSink> Session::stream() const {
  absl::MutexLock lock(&mu_);
  return stream_;
}

Session::Revocation Session::AddRevocation(uint32_t region_id, uint64_t offset,
                                           uint64_t frame) {
  absl::MutexLock lock(&mu_);
  Revocation revocation;
  revocation.revocation_id = next_revocation_id_++;
  revocation.region_id = region_id;
  revocation.offset = offset;
  revocation.frame = frame;
  revocations_[revocation.revocation_id] = revocation;
  return revocation;
}

std::optional<Session::Revocation> Session::TakeRevocation(
    uint64_t revocation_id) {
  absl::MutexLock lock(&mu_);
  auto it = revocations_.find(revocation_id);
  if (it == revocations_.end()) return std::nullopt;
  Revocation revocation = it->second;
  revocations_.erase(it);
  return revocation;
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
