#include "broker/net/accept_loop.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"

namespace faultline::broker {

absl::StatusOr<std::unique_ptr<AcceptLoop>> AcceptLoop::Start(
    UniqueFd listener, int accept_flags, OnConnection on_connection) {
  ASSIGN_OR_RETURN(int event,
                   CheckSyscall(::eventfd(0, EFD_CLOEXEC), "accept eventfd"));
  std::unique_ptr<AcceptLoop> loop(new AcceptLoop(std::move(listener),
                                                  UniqueFd(event), accept_flags,
                                                  std::move(on_connection)));
  loop->thread_ = std::thread([l = loop.get()] { l->Run(); });
  return loop;
}

AcceptLoop::AcceptLoop(UniqueFd listener, UniqueFd stop_event, int accept_flags,
                       OnConnection on_connection)
    : listener_(std::move(listener)),
      stop_event_(std::move(stop_event)),
      accept_flags_(accept_flags | SOCK_CLOEXEC),
      on_connection_(std::move(on_connection)) {}

AcceptLoop::~AcceptLoop() { Stop(); }

void AcceptLoop::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  (void)!::write(stop_event_.get(), &one, sizeof(one));
  thread_.join();
}

bool AcceptLoop::StopRequestedWithin(int ms) {
  pollfd stop = {stop_event_.get(), POLLIN, 0};
  return ::poll(&stop, 1, ms) > 0;
}

void AcceptLoop::Run() {
  while (true) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0},
                     {stop_event_.get(), POLLIN, 0}};
    if (RetryOnEintr([&] { return ::poll(fds, 2, -1); }) < 0) return;
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int fd = ::accept4(listener_.get(), nullptr, nullptr, accept_flags_);
    if (fd < 0) {
      // Out of descriptors or memory: the listener stays readable, so back
      // off instead of spinning. Other errors: the client gave up meanwhile.
      if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
           errno == ENOMEM) &&
          StopRequestedWithin(100)) {
        return;
      }
      continue;
    }
    on_connection_(UniqueFd(fd));
  }
}

}  // namespace faultline::broker
