#include "broker/net/tcp_listener.h"

#include <fstream>
#include <sstream>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "proto/base/status_macros.h"

namespace faultline::broker {
namespace {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace

absl::Status AddTcpPort(grpc::ServerBuilder& builder,
                        const std::string& address,
                        const std::string& tls_cert_path,
                        const std::string& tls_key_path, int* port) {
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::InsecureServerCredentials();
  if (!tls_cert_path.empty()) {
    ASSIGN_OR_RETURN(std::string cert, ReadWholeFile(tls_cert_path));
    ASSIGN_OR_RETURN(std::string key, ReadWholeFile(tls_key_path));
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({key, cert});
    credentials = grpc::SslServerCredentials(ssl);
  }
  builder.AddListeningPort(address, credentials, port);
  return absl::OkStatus();
}

std::string BoundTcpAddress(const std::string& address, int port) {
  const size_t colon = address.rfind(':');
  return absl::StrCat(address.substr(0, colon), ":", port);
}

}  // namespace faultline::broker
