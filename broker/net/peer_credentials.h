// Who is calling. On the Unix socket the broker accepts connections itself,
// reads each one's SO_PEERCRED (uid, gid, pid) and hands the fd to gRPC
// (AddInsecureChannelFromFd); gRPC then names the call's peer "fd:N", which
// the PeerTable maps back to the credentials. TCP callers are "ipv4:..." or
// "ipv6:..." and prove who they are with a per-VM token (and TLS).
//
// A connection's fd number is reused only after gRPC closed it, and the
// table entry is overwritten on the next accept, so a lookup made while a
// call is live finds that call's connection.
#ifndef FAULTLINE_BROKER_NET_PEER_CREDENTIALS_H_
#define FAULTLINE_BROKER_NET_PEER_CREDENTIALS_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "broker/net/accept_loop.h"
#include "proto/base/unique_fd.h"

namespace faultline::broker {

struct PeerIdentity {
  enum class Transport { kUnix, kTcp, kOther };
  Transport transport = Transport::kOther;
  // Set on the Unix socket.
  bool has_credentials = false;
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  // "uid=0 pid=123" on the Unix socket, "ipv4:127.0.0.1:5123" on TCP.
  std::string description;
};

// Thread-safe.
class PeerTable {
 public:
  void Record(int fd, uid_t uid, gid_t gid, pid_t pid) ABSL_LOCKS_EXCLUDED(mu_);
  // From grpc::ServerContext::peer().
  PeerIdentity Lookup(absl::string_view grpc_peer) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  std::map<int, PeerIdentity> by_fd_ ABSL_GUARDED_BY(mu_);
};

// True when `caller` may act on something `owner` created: the same uid on
// the Unix socket, or root; any TCP caller (TCP is guarded by tokens).
bool SameOwnerOrRoot(const PeerIdentity& owner, const PeerIdentity& caller);

// The Unix socket: accepts connections on its own thread and gives them to
// the gRPC server with their credentials recorded.
//
// Threading: Start/Stop from the controlling thread; Stop before the gRPC
// server shuts down, so no channel is added to a stopped server.
class UnixSocketListener {
 public:
  // Binds `path` (mode 0660: the broker's user and group may connect).
  static absl::StatusOr<std::unique_ptr<UnixSocketListener>> Start(
      const std::string& path, grpc::Server* server, PeerTable* peers);
  ~UnixSocketListener();

  UnixSocketListener(const UnixSocketListener&) = delete;
  UnixSocketListener& operator=(const UnixSocketListener&) = delete;

  void Stop();

 private:
  explicit UnixSocketListener(std::unique_ptr<AcceptLoop> loop)
      : loop_(std::move(loop)) {}

  const std::unique_ptr<AcceptLoop> loop_;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_NET_PEER_CREDENTIALS_H_
