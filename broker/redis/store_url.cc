#include "broker/redis/store_url.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace faultline::broker::redis {
namespace {

constexpr absl::string_view kScheme = "redis://";

// `host` as a numeric address; a name is looked up (at start-up only).
absl::StatusOr<std::string> Numeric(const std::string& host) {
  in6_addr scratch;
  if (inet_pton(AF_INET, host.c_str(), &scratch) == 1 ||
      inet_pton(AF_INET6, host.c_str(), &scratch) == 1) {
    return host;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int error = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (error != 0 || found == nullptr) {
    return absl::NotFoundError(absl::StrCat("--store: cannot resolve \"", host,
                                            "\": ", gai_strerror(error)));
  }
  char text[INET6_ADDRSTRLEN] = {};
  const void* address =
      found->ai_family == AF_INET
          ? static_cast<const void*>(
                &reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr)
          : static_cast<const void*>(
                &reinterpret_cast<sockaddr_in6*>(found->ai_addr)->sin6_addr);
  inet_ntop(found->ai_family, address, text, sizeof(text));
  freeaddrinfo(found);
  return std::string(text);
}

}  // namespace

absl::StatusOr<std::vector<NodeAddress>> ParseStoreUrl(absl::string_view url) {
  if (!absl::StartsWith(url, kScheme) || url.size() == kScheme.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--store=", url, ": expected redis://HOST:PORT[,HOST:PORT...]"));
  }
  std::vector<NodeAddress> seeds;
  for (absl::string_view part :
       absl::StrSplit(url.substr(kScheme.size()), ',')) {
    absl::StatusOr<NodeAddress> node = ParseNodeAddress(part);
    if (!node.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--store=", url, ": ", node.status().message()));
    }
    absl::StatusOr<std::string> host = Numeric(node->host);
    if (!host.ok()) return host.status();
    node->host = *std::move(host);
    seeds.push_back(*std::move(node));
  }
  return seeds;
}

}  // namespace faultline::broker::redis
