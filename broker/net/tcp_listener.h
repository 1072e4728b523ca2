// The TCP port: plain or, with a certificate and key, TLS. Only whether the
// bytes are protected is decided here; who may attach over TCP is the VM
// token check in broker/session/authorization.h.
#ifndef FAULTLINE_BROKER_NET_TCP_LISTENER_H_
#define FAULTLINE_BROKER_NET_TCP_LISTENER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"

namespace faultline::broker {

// Adds `address` ("HOST:PORT", port 0 picks one) to `builder`, with TLS when
// both PEM paths are given; `*port` is set when the server starts (0 if it
// could not listen). NOT_FOUND naming a PEM file that cannot be read.
absl::Status AddTcpPort(grpc::ServerBuilder& builder,
                        const std::string& address,
                        const std::string& tls_cert_path,
                        const std::string& tls_key_path, int* port);

// `address` with its port replaced by the bound `port`.
std::string BoundTcpAddress(const std::string& address, int port);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_NET_TCP_LISTENER_H_
