#include "broker/redis/connection.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "proto/base/errno_status.h"

namespace faultline::broker::redis {
namespace {

// What is left until `deadline`, for ppoll; nullopt once it has passed.
std::optional<timespec> Remaining(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return std::nullopt;
  return absl::ToTimespec(left);
}

absl::Status NodeError(const NodeAddress& node, absl::string_view what) {
  return absl::UnavailableError(
      absl::StrCat("redis ", node.ToString(), ": ", what));
}

// Fills `storage` for `node`; false for a host that is not a numeric address.
bool ToSockaddr(const NodeAddress& node, sockaddr_storage* storage,
                socklen_t* length) {
  std::memset(storage, 0, sizeof(*storage));
  auto* v4 = reinterpret_cast<sockaddr_in*>(storage);
  if (inet_pton(AF_INET, node.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(node.port));
    *length = sizeof(*v4);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(storage);
  if (inet_pton(AF_INET6, node.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(node.port));
    *length = sizeof(*v6);
    return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(
    const NodeAddress& node, absl::Time deadline) {
  sockaddr_storage address;
  socklen_t length = 0;
  if (!ToSockaddr(node, &address, &length)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "redis node ", node.ToString(), ": the host is not a numeric address"));
  }
  UniqueFd fd(::socket(address.ss_family,
                       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return NodeError(node, ErrnoError("socket").message());
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), length) != 0 &&
      errno != EINPROGRESS) {
    return NodeError(node, ErrnoError("connect").message());
  }
  pollfd waiting{fd.get(), POLLOUT, 0};
  for (;;) {
    std::optional<timespec> left = Remaining(deadline);
    if (!left) {
      return absl::DeadlineExceededError(absl::StrCat(
          "redis ", node.ToString(), ": connect did not finish in time"));
    }
    const int ready = ::ppoll(&waiting, 1, &*left, nullptr);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return NodeError(node, ErrnoError("poll").message());
    if (ready > 0) break;
  }
  int error = 0;
  socklen_t error_length = sizeof(error);
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &error_length);
  if (error != 0) {
    return NodeError(node, absl::ErrnoToStatus(error, "connect").message());
  }
  return std::unique_ptr<Connection>(new Connection(node, std::move(fd)));
}

Connection::Connection(NodeAddress node, UniqueFd fd)
    : node_(std::move(node)),
      fd_(std::move(fd)),
      reader_(redisReaderCreate()) {}

Connection::~Connection() {
  if (reader_ != nullptr) redisReaderFree(reader_);
}

void Connection::Append(absl::Span<const std::string> args) {
  absl::StrAppend(&out_, "*", args.size(), "\r\n");
  for (const std::string& arg : args) {
    absl::StrAppend(&out_, "$", arg.size(), "\r\n");
    out_.append(arg);
    out_.append("\r\n");
  }
  ++queued_;
}

void Connection::Fail(absl::Status status) {
  broken_ = true;
  if (error_.ok()) error_ = std::move(status);
}

bool Connection::WriteSome() {
  while (out_sent_ < out_.size()) {
    const ssize_t sent = ::send(fd_.get(), out_.data() + out_sent_,
                                out_.size() - out_sent_, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (sent < 0) {
      Fail(NodeError(node_, ErrnoError("send").message()));
      return false;
    }
    out_sent_ += static_cast<size_t>(sent);
  }
  out_.clear();
  out_sent_ = 0;
  return true;
}

bool Connection::ReadSome() {
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t got = ::recv(fd_.get(), buffer, sizeof(buffer), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (got < 0) {
      Fail(NodeError(node_, ErrnoError("recv").message()));
      return false;
    }
    if (got == 0) {
      Fail(NodeError(node_, "the server closed the connection"));
      return false;
    }
    redisReaderFeed(reader_, buffer, static_cast<size_t>(got));
    if (static_cast<size_t>(got) < sizeof(buffer)) break;
  }
  while (replies_.size() < queued_) {
    void* parsed = nullptr;
    if (redisReaderGetReply(reader_, &parsed) != REDIS_OK) {
      Fail(NodeError(node_, absl::StrCat("protocol error: ", reader_->errstr)));
      return false;
    }
    if (parsed == nullptr) break;
    replies_.push_back(FromHiredis(*static_cast<redisReply*>(parsed)));
    freeReplyObject(parsed);
  }
  return true;
}

// The poll loop behind Exchange, one pollfd per connection still waiting.
struct ExchangeDriver {
  static void Run(absl::Span<Connection* const> connections,
                  absl::Time deadline) {
    std::vector<pollfd> fds;
    std::vector<Connection*> waiting;
    for (;;) {
      fds.clear();
      waiting.clear();
      for (Connection* c : connections) {
        if (c->broken_ || c->replies_.size() >= c->queued_) continue;
        const short events =
            POLLIN | (c->out_sent_ < c->out_.size() ? POLLOUT : 0);
        fds.push_back(pollfd{c->fd_.get(), events, 0});
        waiting.push_back(c);
      }
      if (waiting.empty()) return;
      std::optional<timespec> left = Remaining(deadline);
      if (!left) {
        for (Connection* c : waiting) {
          c->Fail(absl::DeadlineExceededError(
              absl::StrCat("redis ", c->node_.ToString(), ": ",
                           c->queued_ - c->replies_.size(), " of ", c->queued_,
                           " replies did not come in time")));
        }
        return;
      }
      const int ready = ::ppoll(fds.data(), fds.size(), &*left, nullptr);
      if (ready < 0 && errno != EINTR) {
        for (Connection* c : waiting) {
          c->Fail(NodeError(c->node_, ErrnoError("poll").message()));
        }
        return;
      }
      for (size_t i = 0; ready > 0 && i < fds.size(); ++i) {
        if (fds[i].revents & POLLOUT) waiting[i]->WriteSome();
        if (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) {
          waiting[i]->ReadSome();
        }
      }
    }
  }

  static std::vector<ExchangeResult> Exchange(
      absl::Span<Connection* const> connections, absl::Time deadline) {
    for (Connection* c : connections) {
      if (!c->broken_) c->WriteSome();
    }
    Run(connections, deadline);
    std::vector<ExchangeResult> results(connections.size());
    for (size_t i = 0; i < connections.size(); ++i) {
      Connection* c = connections[i];
      results[i].status = c->broken_ ? c->error_ : absl::OkStatus();
      results[i].replies = std::move(c->replies_);
      c->replies_.clear();
      c->queued_ = 0;
      c->out_.clear();
      c->out_sent_ = 0;
    }
    return results;
  }
};

std::vector<ExchangeResult> Exchange(absl::Span<Connection* const> connections,
                                     absl::Time deadline) {
  return ExchangeDriver::Exchange(connections, deadline);
}

absl::StatusOr<Reply> Call(Connection& connection,
                           absl::Span<const std::string> args,
                           absl::Time deadline) {
  connection.Append(args);
  Connection* one[] = {&connection};
  std::vector<ExchangeResult> results = Exchange(one, deadline);
  if (!results[0].status.ok()) return results[0].status;
  return std::move(results[0].replies[0]);
}

}  // namespace faultline::broker::redis
