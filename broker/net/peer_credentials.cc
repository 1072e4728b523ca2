#include "broker/net/peer_credentials.h"

#include <grpcpp/server_posix.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"

namespace faultline::broker {

void PeerTable::Record(int fd, uid_t uid, gid_t gid, pid_t pid) {
  PeerIdentity peer;
  peer.transport = PeerIdentity::Transport::kUnix;
  peer.has_credentials = true;
  peer.uid = uid;
  peer.gid = gid;
  peer.pid = pid;
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

bool SameOwnerOrRoot(const PeerIdentity& owner, const PeerIdentity& caller) {
  if (caller.transport == PeerIdentity::Transport::kTcp) return true;
  if (!caller.has_credentials) return false;
  if (caller.uid == 0) return true;
  return !owner.has_credentials || owner.uid == caller.uid;
}

absl::StatusOr<std::unique_ptr<UnixSocketListener>> UnixSocketListener::Start(
    const std::string& path, grpc::Server* server, PeerTable* peers) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path ", path, " is longer than ",
                     sizeof(address.sun_path) - 1, " bytes"));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  ASSIGN_OR_RETURN(
      int fd, CheckSyscall(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0),
                           "unix socket"));
  UniqueFd listener(fd);
  RETURN_IF_ERROR(CheckSyscall(::bind(fd, reinterpret_cast<sockaddr*>(&address),
                                      sizeof(address)),
                               absl::StrCat("bind ", path))
                      .status());
  RETURN_IF_ERROR(
      CheckSyscall(::chmod(path.c_str(), 0660), absl::StrCat("chmod ", path))
          .status());
  RETURN_IF_ERROR(
      CheckSyscall(::listen(fd, 128), absl::StrCat("listen ", path)).status());
  // gRPC's fd transport needs a non-blocking socket.
  ASSIGN_OR_RETURN(
      std::unique_ptr<AcceptLoop> loop,
      AcceptLoop::Start(
          std::move(listener), SOCK_NONBLOCK,
          [server, peers](UniqueFd connection) {
            ucred credentials{};
            socklen_t length = sizeof(credentials);
            if (::getsockopt(connection.get(), SOL_SOCKET, SO_PEERCRED,
                             &credentials, &length) != 0) {
              return;  // The peer is gone already.
            }
            peers->Record(connection.get(), credentials.uid, credentials.gid,
                          credentials.pid);
            // gRPC owns and closes the fd from here on.
            grpc::AddInsecureChannelFromFd(server, connection.Release());
          }));
  return std::unique_ptr<UnixSocketListener>(
      new UnixSocketListener(std::move(loop)));
}

UnixSocketListener::~UnixSocketListener() { Stop(); }

void UnixSocketListener::Stop() { loop_->Stop(); }

}  // namespace faultline::broker
