// What a person (or a test) types reaches the guest's serial console: bytes
// read from a file descriptor (the VMM's stdin) or from clients of a Unix
// socket, one client at a time, go to the UART's receive FIFO. When the FIFO
// is full the reader waits for the guest to drain it, so nothing typed is
// lost. End of input (stdin at EOF) ends the reading, not the VM. A
// terminal is switched to character mode without local echo (the guest
// echoes) for as long as this object lives; Ctrl-C still signals the VMM.
//
// Threading: one reader thread, started by the factory, stopped and joined
// by the destructor; the UART (not owned) must outlive this object.
#ifndef FAULTLINE_VMM_DEVICES_SERIAL_INPUT_H_
#define FAULTLINE_VMM_DEVICES_SERIAL_INPUT_H_

#include <termios.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "proto/base/unique_fd.h"
#include "vmm/devices/serial.h"

namespace faultline::vmm {

class SerialInput {
 public:
  // Reads `fd` (not owned) until end of file.
  static absl::StatusOr<std::unique_ptr<SerialInput>> FromFd(int fd,
                                                             Serial8250* uart);
  // Listens on a Unix stream socket at `path` (removed again at the end).
  static absl::StatusOr<std::unique_ptr<SerialInput>> ListenUnix(
      const std::string& path, Serial8250* uart);
  ~SerialInput();

  SerialInput(const SerialInput&) = delete;
  SerialInput& operator=(const SerialInput&) = delete;

  uint64_t bytes_received() const { return bytes_received_.load(); }

 private:
  SerialInput(Serial8250* uart, int input_fd, UniqueFd listener,
              std::string socket_path, UniqueFd stop);
  void Serve();
  // Copies `fd` to the UART until end of file or stop; false on stop.
  bool Pump(int fd);
  // Waits until `fd` is readable; false on stop.
  bool WaitReadable(int fd);

  Serial8250* const uart_;
  const int input_fd_;  // -1 when listening
  const UniqueFd listener_;
  const std::string socket_path_;
  const UniqueFd stop_;
  bool restore_terminal_ = false;
  struct termios saved_terminal_ = {};
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> bytes_received_{0};
  std::thread thread_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_SERIAL_INPUT_H_
