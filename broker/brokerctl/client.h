// brokerctl's connection to the broker: the channel for --broker
// ("unix:PATH" or "HOST:PORT", with TLS when given a CA), stubs, the admin
// token every call carries over TCP, and per-call deadlines, so that no
// command waits forever on an unreachable or stuck broker.
#ifndef FAULTLINE_BROKER_BROKERCTL_CLIENT_H_
#define FAULTLINE_BROKER_BROKERCTL_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.grpc.pb.h"

namespace faultline::brokerctl {

// How brokerctl proves itself to a broker over TCP.
struct ClientCredentials {
  // Sent as wire::kAdminTokenKey on every call when not empty.
  std::string admin_token;
  // PEM of the CA that signed the broker's certificate: TLS when not empty.
  std::string tls_ca_pem;
  // The name the broker's certificate is for, if not the address's host.
  std::string tls_server_name;
};

class BrokerClient {
 public:
  // Connects within `timeout`; UNAVAILABLE naming the address otherwise.
  static absl::StatusOr<std::unique_ptr<BrokerClient>> Connect(
      const std::string& address, absl::Duration timeout,
      ClientCredentials credentials = {});

  v1::BrokerAdmin::Stub& admin() { return *admin_; }
  // A context whose deadline is the command's timeout from now.
  std::unique_ptr<grpc::ClientContext> NewContext() const;
  // Adds the admin token, if any, to a context made elsewhere.
  void Authorize(grpc::ClientContext* context) const;
  absl::Duration timeout() const { return timeout_; }
  const std::string& address() const { return address_; }

 private:
  BrokerClient(std::string address, absl::Duration timeout,
               std::string admin_token, std::shared_ptr<grpc::Channel> channel);

  const std::string address_;
  const absl::Duration timeout_;
  const std::string admin_token_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::BrokerAdmin::Stub> admin_;
};

// A failed call as "broker at ADDRESS: CODE: message".
absl::Status CallError(const BrokerClient& client, const grpc::Status& status);

}  // namespace faultline::brokerctl

#endif  // FAULTLINE_BROKER_BROKERCTL_CLIENT_H_
