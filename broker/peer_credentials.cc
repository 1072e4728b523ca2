#include "broker/peer_credentials.h"

#include "absl/strings/match.h"

namespace faultline::broker {

PeerIdentity PeerFromGrpcPeer(absl::string_view grpc_peer) {
  PeerIdentity peer;
  peer.description = std::string(grpc_peer);
  if (absl::StartsWith(grpc_peer, "unix:")) {
    peer.transport = PeerIdentity::Transport::kUnix;
  } else if (absl::StartsWith(grpc_peer, "ipv4:") ||
             absl::StartsWith(grpc_peer, "ipv6:")) {
    peer.transport = PeerIdentity::Transport::kTcp;
  }
  return peer;
}

}  // namespace faultline::broker
