#include "broker/observe/metrics_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"

namespace faultline::broker {
namespace {

constexpr int kReadDeadlineMs = 2000;

absl::StatusOr<sockaddr_in> ParseAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--metrics \"", address, "\" is not HOST:PORT (e.g. 127.0.0.1:9464)"));
  }
  std::string host = address.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  if (host.empty() || host == "*") host = "0.0.0.0";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics host \"", host, "\" is not an IPv4 address"));
  }
  return addr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& address, std::function<std::string()> render) {
  ASSIGN_OR_RETURN(sockaddr_in addr, ParseAddress(address));
  ASSIGN_OR_RETURN(
      int fd, CheckSyscall(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
                           "metrics socket"));
  UniqueFd listener(fd);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  RETURN_IF_ERROR(
      CheckSyscall(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
                   absl::StrCat("metrics bind ", address))
          .status());
  RETURN_IF_ERROR(CheckSyscall(::listen(fd, 16), "metrics listen").status());
  socklen_t length = sizeof(addr);
  RETURN_IF_ERROR(
      CheckSyscall(
          ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length),
          "metrics getsockname")
          .status());
  char host[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &addr.sin_addr, host, sizeof(host));
  auto server = std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(
      absl::StrCat(host, ":", ntohs(addr.sin_port)), std::move(render)));
  ASSIGN_OR_RETURN(server->loop_,
                   AcceptLoop::Start(
                       std::move(listener), /*accept_flags=*/0,
                       [s = server.get()](UniqueFd connection) {
                         // A scraper that stops reading cannot
                         // hold the thread past this.
                         timeval send_deadline = {kReadDeadlineMs / 1000, 0};
                         ::setsockopt(connection.get(), SOL_SOCKET, SO_SNDTIMEO,
                                      &send_deadline, sizeof(send_deadline));
                         s->Respond(connection.get());
                       }));
  return server;
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

void MetricsHttpServer::Stop() {
  if (loop_ != nullptr) loop_->Stop();
}

void MetricsHttpServer::Respond(int connection) {
  // Read the request head (up to a blank line) within the deadline; its
  // content does not matter: every path answers the metrics.
  std::string head;
  char buffer[1024];
  while (head.find("\r\n\r\n") == std::string::npos &&
         head.find("\n\n") == std::string::npos && head.size() < 8192) {
    pollfd fd = {connection, POLLIN, 0};
    if (RetryOnEintr([&] { return ::poll(&fd, 1, kReadDeadlineMs); }) <= 0) {
      return;
    }
    ssize_t n = RetryOnEintr(
        [&] { return ::read(connection, buffer, sizeof(buffer)); });
    if (n <= 0) break;
    head.append(buffer, static_cast<size_t>(n));
  }
  const std::string body = render_();
  const std::string response = absl::StrCat(
      "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
      "Content-Length: ",
      body.size(), "\r\nConnection: close\r\n\r\n", body);
  size_t sent = 0;
  while (sent < response.size()) {
    ssize_t n = RetryOnEintr([&] {
      return ::send(connection, response.data() + sent, response.size() - sent,
                    MSG_NOSIGNAL);
    });
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

}  // namespace faultline::broker
