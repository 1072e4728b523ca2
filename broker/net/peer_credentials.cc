#include "broker/net/peer_credentials.h"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

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

bool PeerProcessExited(const PeerIdentity& peer) {
  if (!peer.has_credentials || peer.pid <= 0) return false;
  // A pidfd names one process for good, and polls readable once it has
  // exited, reaped or not; kill(pid, 0) would call a zombie alive.
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, peer.pid, 0));
  if (pidfd < 0) return errno == ESRCH;
  pollfd exited{.fd = pidfd, .events = POLLIN, .revents = 0};
  const int ready = ::poll(&exited, 1, 0);
  ::close(pidfd);
  return ready == 1 && (exited.revents & POLLIN) != 0;
}

}  // namespace faultline::broker
