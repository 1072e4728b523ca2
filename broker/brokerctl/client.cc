#include "broker/brokerctl/client.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "proto/base/grpc_status.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::brokerctl {

BrokerClient::BrokerClient(std::string address, absl::Duration timeout,
                           std::string admin_token,
                           std::shared_ptr<grpc::Channel> channel)
    : address_(std::move(address)),
      timeout_(timeout),
      admin_token_(std::move(admin_token)),
      channel_(std::move(channel)),
      admin_(v1::BrokerAdmin::NewStub(channel_)) {}

absl::StatusOr<std::unique_ptr<BrokerClient>> BrokerClient::Connect(
    const std::string& address, absl::Duration timeout,
    ClientCredentials credentials) {
  if (address.empty()) {
    return absl::InvalidArgumentError(
        "--broker is empty; give unix:PATH or HOST:PORT");
  }
  if (!absl::StartsWith(address, "unix:") &&
      address.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--broker=", address, " is neither unix:PATH nor HOST:PORT"));
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(80 << 20);
  args.SetMaxSendMessageSize(80 << 20);
  std::shared_ptr<grpc::ChannelCredentials> channel_credentials =
      grpc::InsecureChannelCredentials();
  if (!credentials.tls_ca_pem.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = credentials.tls_ca_pem;
    channel_credentials = grpc::SslCredentials(ssl);
    if (!credentials.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(credentials.tls_server_name);
    }
  }
  auto channel = grpc::CreateCustomChannel(address, channel_credentials, args);
  if (!channel->WaitForConnected(absl::ToChronoTime(absl::Now() + timeout))) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach the broker at ", address, " within ",
                     absl::FormatDuration(timeout),
                     " (is it running? is the path or port right?)"));
  }
  return std::unique_ptr<BrokerClient>(
      new BrokerClient(address, timeout, std::move(credentials.admin_token),
                       std::move(channel)));
}

std::unique_ptr<grpc::ClientContext> BrokerClient::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  Authorize(context.get());
  return context;
}

void BrokerClient::Authorize(grpc::ClientContext* context) const {
  if (!admin_token_.empty()) {
    context->AddMetadata(v1::wire::kAdminTokenKey, admin_token_);
  }
}

absl::Status CallError(const BrokerClient& client, const grpc::Status& status) {
  absl::Status converted = ToAbslStatus(status);
  if (converted.ok()) return converted;
  return absl::Status(
      converted.code(),
      absl::StrCat("broker at ", client.address(), ": ", converted.message()));
}

}  // namespace faultline::brokerctl
