// A listening Unix stream socket at a path, replacing a stale socket file
// left by an earlier run.
#ifndef FAULTLINE_PROTO_BASE_UNIX_LISTENER_H_
#define FAULTLINE_PROTO_BASE_UNIX_LISTENER_H_

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "proto/base/errno_status.h"
#include "proto/base/unique_fd.h"

namespace faultline {

inline absl::StatusOr<UniqueFd> ListenOnUnixSocket(const std::string& path,
                                                   int backlog = 8) {
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path '", path, "' is empty or too long"));
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener.valid()) return ErrnoError("socket");
  ::unlink(path.c_str());
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&address),
             sizeof(address)) != 0) {
    return ErrnoError(absl::StrCat("bind ", path));
  }
  if (::listen(listener.get(), backlog) != 0) {
    return ErrnoError(absl::StrCat("listen ", path));
  }
  return listener;
}

}  // namespace faultline

#endif  // FAULTLINE_PROTO_BASE_UNIX_LISTENER_H_
