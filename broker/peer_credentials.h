// Who is calling: the transport a call came on and a description for
// people. The Unix socket is the local trust boundary (its file mode lets
// only the broker's user and group connect); TCP callers prove who they are
// with a per-VM token (and TLS when configured).
#ifndef FAULTLINE_BROKER_PEER_CREDENTIALS_H_
#define FAULTLINE_BROKER_PEER_CREDENTIALS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace faultline::broker {

struct PeerIdentity {
  enum class Transport { kUnix, kTcp, kOther };
  Transport transport = Transport::kOther;
  // "unix:/tmp/faultline/broker.sock" or "ipv4:127.0.0.1:5123".
  std::string description;
};

// From grpc::ServerContext::peer().
PeerIdentity PeerFromGrpcPeer(absl::string_view grpc_peer);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_PEER_CREDENTIALS_H_
