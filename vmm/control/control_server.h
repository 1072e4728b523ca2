// The VMM's control socket: a Unix stream socket carrying the control
// protocol (control_protocol.h), one command per line and one reply line
// each. Clients are served one at a time; an idle client is dropped after a
// timeout so it cannot block the others.
//
// Threading: Create() starts one server thread; the handler runs on it.
// The destructor stops the thread and removes the socket file.
#ifndef FAULTLINE_VMM_CONTROL_CONTROL_SERVER_H_
#define FAULTLINE_VMM_CONTROL_CONTROL_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/base/unique_fd.h"
#include "vmm/control/control_protocol.h"

namespace faultline::vmm {

class ControlServer {
 public:
  // Returns the reply line (without newline) for a command.
  using Handler = std::function<std::string(ControlCommand)>;

  static absl::StatusOr<std::unique_ptr<ControlServer>> Create(
      const std::string& path, Handler handler,
      absl::Duration client_idle_timeout = absl::Seconds(30));
  ~ControlServer();

  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  ControlServer(std::string path, UniqueFd listener, UniqueFd stop_fd,
                Handler handler, absl::Duration idle_timeout);
  void Serve();
  void ServeClient(int client);

  const std::string path_;
  const UniqueFd listener_;
  const UniqueFd stop_fd_;
  const Handler handler_;
  const absl::Duration idle_timeout_;
  std::thread thread_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_CONTROL_CONTROL_SERVER_H_
