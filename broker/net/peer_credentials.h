// Who is calling. On the Unix socket the broker accepts connections itself,
// reads each one's SO_PEERCRED (uid, gid, pid) and SO_PEERGROUPS (its
// supplementary groups) and hands the fd to gRPC
// (AddInsecureChannelFromFd); gRPC then names the call's peer "fd:N", which
// the PeerTable maps back to the credentials. TCP callers are "ipv4:..." or
// "ipv6:..." and prove who they are with a per-VM token (and TLS). What a
// peer may do is decided in broker/session/authorization.h, not here.
//
// A connection's fd number is reused only after gRPC closed it, and the
// table entry is overwritten on the next accept, so a lookup made while a
// call is live finds that call's connection.
#ifndef FAULTLINE_BROKER_NET_PEER_CREDENTIALS_H_
#define FAULTLINE_BROKER_NET_PEER_CREDENTIALS_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace faultline::broker {

struct PeerIdentity {
  enum class Transport { kUnix, kTcp, kOther };
  Transport transport = Transport::kOther;
  // Set on the Unix socket.
  bool has_credentials = false;
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  // Supplementary groups (SO_PEERGROUPS), for opening files as the peer.
  std::vector<gid_t> groups;
  // "uid=0 pid=123" on the Unix socket, "ipv4:127.0.0.1:5123" on TCP.
  std::string description;
};

// Whether the process that made this Unix connection has exited (a zombie
// counts). False when that cannot be known: a TCP peer, no pid, or a pid
// that now names another process (the safe answer: it may still be live).
bool PeerProcessExited(const PeerIdentity& peer);

// Thread-safe.
class PeerTable {
 public:
  void Record(int fd, uid_t uid, gid_t gid, pid_t pid,
              std::vector<gid_t> groups = {}) ABSL_LOCKS_EXCLUDED(mu_);
  // From grpc::ServerContext::peer().
  PeerIdentity Lookup(absl::string_view grpc_peer) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  std::map<int, PeerIdentity> by_fd_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_NET_PEER_CREDENTIALS_H_
