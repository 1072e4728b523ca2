#include "broker/net/peer_credentials.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace faultline::broker {

void PeerTable::Record(int fd, uid_t uid, gid_t gid, pid_t pid,
                       std::vector<gid_t> groups) {
  PeerIdentity peer;
  peer.transport = PeerIdentity::Transport::kUnix;
  peer.has_credentials = true;
  peer.uid = uid;
  peer.gid = gid;
  peer.pid = pid;
  peer.groups = std::move(groups);
  peer.description = absl::StrCat("uid=", uid, " pid=", pid);
  absl::MutexLock lock(&mu_);
  by_fd_[fd] = std::move(peer);
}

PeerIdentity PeerTable::Lookup(absl::string_view grpc_peer) const {
  int fd = -1;
  if (absl::StartsWith(grpc_peer, "fd:") &&
      absl::SimpleAtoi(grpc_peer.substr(3), &fd)) {
    absl::MutexLock lock(&mu_);
    auto it = by_fd_.find(fd);
    if (it != by_fd_.end()) return it->second;
  }
  PeerIdentity peer;
  peer.description = std::string(grpc_peer);
  if (absl::StartsWith(grpc_peer, "ipv4:") ||
      absl::StartsWith(grpc_peer, "ipv6:")) {
    peer.transport = PeerIdentity::Transport::kTcp;
  }
  return peer;
}

}  // namespace faultline::broker
