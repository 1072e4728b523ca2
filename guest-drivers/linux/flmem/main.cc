// flmem: a guest tool that maps faultline's PCI memory device through the
// Linux driver (/dev/faultline-memN) and checks what processes see. Static,
// so it runs from any initramfs. Usage: options.cc's Usage().
#include <cstdio>
#include <string>
#include <vector>

#include "guest-drivers/linux/flmem/commands.h"
#include "guest-drivers/linux/flmem/sigbus.h"

int main(int argc, char** argv) {
  using namespace faultline::flmem;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "help")) {
    std::fputs(Usage(), stdout);
    return kExitPass;
  }
  std::string error;
  const auto options = ParseOptions(args, &error);
  if (!options) {
    std::printf("flmem: bad usage: %s\n%s", error.c_str(), Usage());
    return kExitUsage;
  }
  if (options->command == Command::kInfo) return RunInfo(*options);
  InstallSigbusHandler();
  auto mapping =
      Mapping::Open(options->device, options->first, options->count, &error);
  if (mapping == nullptr) {
    std::printf("flmem: bad device: %s\n", error.c_str());
    return kExitUsage;
  }
  switch (options->command) {
    case Command::kCheck:
      return RunCheck(*options, *mapping);
    case Command::kFill:
    case Command::kSign:
      return RunWrite(*options, *mapping);
    case Command::kShare:
      return RunShare(*options, *mapping);
    case Command::kTouch:
      return RunTouch(*options, *mapping);
    case Command::kExpectSigbus:
      return RunExpectSigbus(*options, *mapping);
    case Command::kInfo:
      break;
  }
  return RunInfo(*options);
}
