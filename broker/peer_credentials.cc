#include "broker/peer_credentials.h"

#include <grpcpp/server_posix.h>
#include <poll.h>
#include <sys/eventfd.h>
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
  ASSIGN_OR_RETURN(int event,
                   CheckSyscall(::eventfd(0, EFD_CLOEXEC), "listener eventfd"));
  std::unique_ptr<UnixSocketListener> result(new UnixSocketListener(
      std::move(listener), UniqueFd(event), server, peers));
  result->thread_ = std::thread([l = result.get()] { l->AcceptLoop(); });
  return result;
}

UnixSocketListener::UnixSocketListener(UniqueFd listener, UniqueFd stop_event,
                                       grpc::Server* server, PeerTable* peers)
    : listener_(std::move(listener)),
      stop_event_(std::move(stop_event)),
      server_(server),
      peers_(peers) {}

UnixSocketListener::~UnixSocketListener() { Stop(); }

void UnixSocketListener::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  (void)!::write(stop_event_.get(), &one, sizeof(one));
  thread_.join();
}

void UnixSocketListener::AcceptLoop() {
  while (true) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0},
                     {stop_event_.get(), POLLIN, 0}};
    if (RetryOnEintr([&] { return ::poll(fds, 2, -1); }) < 0) return;
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    // gRPC's fd transport needs a non-blocking socket.
    const int fd = ::accept4(listener_.get(), nullptr, nullptr,
                             SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      // Out of descriptors: the socket stays readable, so back off instead
      // of spinning (stop still wakes the wait).
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM) {
        pollfd stop = {stop_event_.get(), POLLIN, 0};
        if (::poll(&stop, 1, 100) > 0) return;
      }
      continue;  // Or the client gave up meanwhile.
    }
    ucred credentials{};
    socklen_t length = sizeof(credentials);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
      ::close(fd);
      continue;
    }
    peers_->Record(fd, credentials.uid, credentials.gid, credentials.pid);
    // gRPC owns and closes the fd from here on.
    grpc::AddInsecureChannelFromFd(server_, fd);
  }
}

}  // namespace faultline::broker
