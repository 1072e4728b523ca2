// The Unix socket: binds it (mode 0660: the broker's user
// and group may connect), accepts connections on its own thread, records
// each peer's SO_PEERCRED in the PeerTable and hands the connection to the
// gRPC server (AddInsecureChannelFromFd).
//
// Threading: Start/Stop from the controlling thread; Stop before the gRPC
// server shuts down, so no channel is added to a stopped server.
#ifndef FAULTLINE_BROKER_NET_UNIX_LISTENER_H_
#define FAULTLINE_BROKER_NET_UNIX_LISTENER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/net/accept_loop.h"
#include "broker/net/peer_credentials.h"

namespace faultline::broker {

class UnixSocketListener {
 public:
  // `path` must be free (PrepareSocketPath, before the server is built).
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

// Creates `dir` and its missing parents (mode 0755).
absl::Status MakeDirectories(const std::string& dir);

// Makes room for a socket at `path` (1-107 characters): creates its parent
// directory and removes a stale socket of an earlier broker, but refuses to
// replace anything that is not a socket.
absl::Status PrepareSocketPath(const std::string& path);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_NET_UNIX_LISTENER_H_
