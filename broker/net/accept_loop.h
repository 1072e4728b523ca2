// Accepts connections on a listening socket on its own thread until stopped,
// handing each to a callback. Shared by the Unix socket listener (which gives
// connections to gRPC) and the metrics responder.
//
// Threading: Start/Stop from the controlling thread; `on_connection` runs on
// the accept thread, one connection at a time, and owns the fd it is given.
#ifndef FAULTLINE_BROKER_NET_ACCEPT_LOOP_H_
#define FAULTLINE_BROKER_NET_ACCEPT_LOOP_H_

#include <functional>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "proto/base/unique_fd.h"

namespace faultline::broker {

class AcceptLoop {
 public:
  using OnConnection = std::function<void(UniqueFd connection)>;

  // `listener` is a listening socket; `accept_flags` go to accept4 (e.g.
  // SOCK_NONBLOCK for gRPC's fd transport; SOCK_CLOEXEC is always added).
  static absl::StatusOr<std::unique_ptr<AcceptLoop>> Start(
      UniqueFd listener, int accept_flags, OnConnection on_connection);
  ~AcceptLoop();

  AcceptLoop(const AcceptLoop&) = delete;
  AcceptLoop& operator=(const AcceptLoop&) = delete;

  int listener_fd() const { return listener_.get(); }

  // Wakes the accept thread and joins it. Idempotent.
  void Stop();

 private:
  AcceptLoop(UniqueFd listener, UniqueFd stop_event, int accept_flags,
             OnConnection on_connection);
  void Run();
  // Waits up to `ms` for Stop; true when stopping.
  bool StopRequestedWithin(int ms);

  const UniqueFd listener_;
  // An eventfd that wakes the accept thread's poll to stop it.
  const UniqueFd stop_event_;
  const int accept_flags_;
  const OnConnection on_connection_;
  std::thread thread_;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_NET_ACCEPT_LOOP_H_
