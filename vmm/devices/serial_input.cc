#include "vmm/devices/serial_input.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "proto/base/errno_status.h"
#include "proto/base/unix_listener.h"

namespace faultline::vmm {

absl::StatusOr<std::unique_ptr<SerialInput>> SerialInput::FromFd(
    int fd, Serial8250* uart) {
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop.valid()) return ErrnoError("eventfd");
  return std::unique_ptr<SerialInput>(
      new SerialInput(uart, fd, UniqueFd(), "", std::move(stop)));
}

absl::StatusOr<std::unique_ptr<SerialInput>> SerialInput::ListenUnix(
    const std::string& path, Serial8250* uart) {
  absl::StatusOr<UniqueFd> listener = ListenOnUnixSocket(path, 1);
  if (!listener.ok()) {
    return absl::Status(
        listener.status().code(),
        absl::StrCat("serial input socket: ", listener.status().message()));
  }
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop.valid()) return ErrnoError("eventfd");
  return std::unique_ptr<SerialInput>(
      new SerialInput(uart, -1, *std::move(listener), path, std::move(stop)));
}

SerialInput::SerialInput(Serial8250* uart, int input_fd, UniqueFd listener,
                         std::string socket_path, UniqueFd stop)
    : uart_(uart),
      input_fd_(input_fd),
      listener_(std::move(listener)),
      socket_path_(std::move(socket_path)),
      stop_(std::move(stop)) {
  if (input_fd_ >= 0 && ::isatty(input_fd_) == 1 &&
      ::tcgetattr(input_fd_, &saved_terminal_) == 0) {
    struct termios raw = saved_terminal_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    restore_terminal_ = ::tcsetattr(input_fd_, TCSANOW, &raw) == 0;
  }
  thread_ = std::thread([this] { Serve(); });
}

SerialInput::~SerialInput() {
  stopping_ = true;
  const uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  if (restore_terminal_) ::tcsetattr(input_fd_, TCSANOW, &saved_terminal_);
  if (!socket_path_.empty()) ::unlink(socket_path_.c_str());
}

bool SerialInput::WaitReadable(int fd) {
  for (;;) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[1].revents != 0) return false;
    if (fds[0].revents != 0) return true;  // data, hang-up or error: read it
  }
}

bool SerialInput::Pump(int fd) {
  uint8_t buffer[256];
  for (;;) {
    if (!WaitReadable(fd)) return false;
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return true;  // end of input, or an error that ends it
    absl::Span<const uint8_t> rest(buffer, static_cast<size_t>(n));
    while (!rest.empty()) {
      const size_t taken = uart_->QueueInput(rest);
      bytes_received_ += taken;
      rest.remove_prefix(taken);
      // The guest drains the FIFO at its pace; look at stop meanwhile.
      while (!rest.empty() &&
             !uart_->WaitForInputRoom(absl::Milliseconds(100))) {
        if (stopping_) return false;
      }
      if (stopping_) return false;
    }
  }
}

void SerialInput::Serve() {
  if (input_fd_ >= 0) {
    Pump(input_fd_);
    return;
  }
  while (WaitReadable(listener_.get())) {
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (client.valid() && !Pump(client.get())) return;
  }
}

}  // namespace faultline::vmm
