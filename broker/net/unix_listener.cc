#include "broker/net/unix_listener.h"

#include <grpcpp/server_posix.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"

namespace faultline::broker {

namespace {

// The peer's supplementary groups as they were when it connected; none if
// the kernel cannot say (the peer then opens images without them).
std::vector<gid_t> PeerGroups(int fd) {
  std::vector<gid_t> groups(64);
  socklen_t length = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &length) !=
      0) {
    if (errno != ERANGE) return {};
    groups.resize(length / sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &length) !=
        0) {
      return {};
    }
  }
  groups.resize(length / sizeof(gid_t));
  return groups;
}

}  // namespace

absl::Status MakeDirectories(const std::string& dir) {
  std::string partial;
  for (absl::string_view part : absl::StrSplit(dir, '/', absl::SkipEmpty())) {
    absl::StrAppend(&partial, "/", part);
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoError(absl::StrCat("create directory ", partial));
    }
  }
  return absl::OkStatus();
}

absl::Status PrepareSocketPath(const std::string& path) {
  if (path.empty() || path.size() >= 108) {
    return absl::InvalidArgumentError(
        absl::StrCat("--socket path \"", path, "\" must be 1-107 characters"));
  }
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    RETURN_IF_ERROR(MakeDirectories(path.substr(0, slash)));
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, " exists and is not a socket; refusing to replace it"));
    }
    if (::unlink(path.c_str()) != 0) {
      return ErrnoError(absl::StrCat("remove stale socket ", path));
    }
  }
  return absl::OkStatus();
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
                          credentials.pid, PeerGroups(connection.get()));
            // gRPC owns and closes the fd from here on.
            grpc::AddInsecureChannelFromFd(server, connection.Release());
          }));
  return std::unique_ptr<UnixSocketListener>(
      new UnixSocketListener(std::move(loop)));
}

UnixSocketListener::~UnixSocketListener() { Stop(); }

void UnixSocketListener::Stop() { loop_->Stop(); }

}  // namespace faultline::broker
