#include "vmm/control/control_protocol.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace faultline::vmm {

absl::StatusOr<ControlCommand> ParseControlCommand(absl::string_view line) {
  const absl::string_view command = absl::StripAsciiWhitespace(line);
  if (command == "pause") return ControlCommand::kPause;
  if (command == "resume") return ControlCommand::kResume;
  if (command == "stop") return ControlCommand::kStop;
  if (command == "status") return ControlCommand::kStatus;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown command '", command,
                   "'; commands: pause, resume, stop, status"));
}

std::string ControlReply(ControlCommand command, const VmControls& vm) {
  switch (command) {
    case ControlCommand::kPause:
      return vm.pause() ? "ok paused" : "error: the VM is stopping";
    case ControlCommand::kResume:
      return vm.resume() ? "ok running" : "error: the VM is stopping";
    case ControlCommand::kStop:
      vm.stop();
      return "ok stopping";
    case ControlCommand::kStatus: {
      const VmStatus s = vm.status();
      return absl::StrFormat(
          "%s vcpus=%u faults=%u in_flight=%u pages=%u zeros=%u frames=%u "
          "retries=%u",
          s.state, s.vcpus, s.faults, s.in_flight, s.pages, s.zeros, s.frames,
          s.retries);
    }
  }
  return "error: unknown command";
}

}  // namespace faultline::vmm
