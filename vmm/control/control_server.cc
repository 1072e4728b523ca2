#include "vmm/control/control_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "proto/base/errno_status.h"
#include "proto/base/unix_listener.h"

namespace faultline::vmm {
namespace {

constexpr size_t kMaxLineBytes = 256;

void SendLine(int client, const std::string& line) {
  const std::string out = line + "\n";
  size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t n =
        ::send(client, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client went away
    sent += static_cast<size_t>(n);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Create(
    const std::string& path, Handler handler,
    absl::Duration client_idle_timeout) {
  absl::StatusOr<UniqueFd> listener = ListenOnUnixSocket(path);
  if (!listener.ok()) {
    return absl::Status(
        listener.status().code(),
        absl::StrCat("control socket: ", listener.status().message()));
  }
  UniqueFd stop_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd.valid()) return ErrnoError("eventfd");
  std::unique_ptr<ControlServer> server(
      new ControlServer(path, *std::move(listener), std::move(stop_fd),
                        std::move(handler), client_idle_timeout));
  server->thread_ = std::thread([s = server.get()] { s->Serve(); });
  return server;
}

ControlServer::ControlServer(std::string path, UniqueFd listener,
                             UniqueFd stop_fd, Handler handler,
                             absl::Duration idle_timeout)
    : path_(std::move(path)),
      listener_(std::move(listener)),
      stop_fd_(std::move(stop_fd)),
      handler_(std::move(handler)),
      idle_timeout_(idle_timeout) {}

ControlServer::~ControlServer() {
  const uint64_t one = 1;
  (void)!::write(stop_fd_.get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  ::unlink(path_.c_str());
}

void ControlServer::Serve() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (client.valid()) ServeClient(client.get());
  }
}

void ControlServer::ServeClient(int client) {
  std::string buffer;
  const int idle_ms =
      static_cast<int>(absl::ToInt64Milliseconds(idle_timeout_));
  for (;;) {
    pollfd fds[2] = {{client, POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    const int ready = ::poll(fds, 2, idle_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0 || fds[1].revents != 0) return;  // idle, error or stop
    char chunk[128];
    const ssize_t n = ::recv(client, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    buffer.append(chunk, static_cast<size_t>(n));
    size_t newline;
    while ((newline = buffer.find('\n')) != std::string::npos) {
      const std::string line = buffer.substr(0, newline);
      buffer.erase(0, newline + 1);
      absl::StatusOr<ControlCommand> command = ParseControlCommand(line);
      SendLine(client, command.ok() ? handler_(*command)
                                    : absl::StrCat("error: ",
                                                   command.status().message()));
    }
    if (buffer.size() > kMaxLineBytes) {
      SendLine(client, "error: line too long");
      return;
    }
  }
}

}  // namespace faultline::vmm
