// The control protocol, apart from the socket that carries it: one command
// per line (`pause`, `resume`, `stop`, `status`) and one reply line each,
// e.g. `ok paused` or `running vcpus=2 faults=130 in_flight=1 pages=96
// zeros=0 frames=0 retries=0`. What a command does to the VM comes in as
// VmControls, so the replies are tested without a VM.
//
// Threading: pure functions; the controls are called on the caller's thread.
#ifndef FAULTLINE_VMM_CONTROL_CONTROL_PROTOCOL_H_
#define FAULTLINE_VMM_CONTROL_CONTROL_PROTOCOL_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace faultline::vmm {

enum class ControlCommand { kPause, kResume, kStop, kStatus };

// Parses one line (surrounding blanks ignored); InvalidArgument otherwise.
absl::StatusOr<ControlCommand> ParseControlCommand(absl::string_view line);

// What `status` reports.
struct VmStatus {
  std::string state;  // "running", "paused" or "stopping: <why>"
  uint32_t vcpus = 0;
  uint64_t faults = 0;
  uint64_t in_flight = 0;
  uint64_t pages = 0;
  uint64_t zeros = 0;
  uint64_t frames = 0;
  uint64_t retries = 0;
};

// What the commands do to the VM.
struct VmControls {
  std::function<bool()> pause;   // false when the VM is stopping
  std::function<bool()> resume;  // false when the VM is stopping
  std::function<void()> stop;
  std::function<VmStatus()> status;
};

// The reply line (without its newline) to `command`.
std::string ControlReply(ControlCommand command, const VmControls& vm);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_CONTROL_CONTROL_PROTOCOL_H_
