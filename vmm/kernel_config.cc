#include "vmm/kernel_config.h"

#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace faultline::vmm {
namespace {

absl::Status FlagError(absl::string_view flag, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", problem));
}

}  // namespace

absl::Status ParseGuestFlags(const VmmFlags& flags, VmmConfig* config,
                             bool stdin_is_terminal) {
  if (flags.guest.empty() == flags.kernel.empty()) {
    return FlagError("guest",
                     "give exactly one of --guest=ELF (a payload) "
                     "and --kernel=FILE (a Linux bzImage or a "
                     "multiboot kernel)");
  }
  config->guest_path = flags.guest;
  config->kernel_path = flags.kernel;
  if (!flags.guest.empty()) {
    if (!flags.initrd.empty() || !flags.cmdline.empty()) {
      return FlagError("initrd",
                       "--initrd and --cmdline go with --kernel; a "
                       "payload takes --guest_args");
    }
  } else {
    if (!flags.guest_args.empty()) {
      return FlagError("guest_args", "payloads only; a kernel takes --cmdline");
    }
    // QEMU's -initrd syntax: comma-separated files, each "PATH[ ARGS]".
    for (absl::string_view spec :
         absl::StrSplit(flags.initrd, ',', absl::SkipEmpty())) {
      if (absl::StartsWith(spec, " ")) {
        return FlagError("initrd",
                         absl::StrCat("'", spec, "' starts with a space"));
      }
      config->initrds.emplace_back(spec);
    }
    config->kernel_cmdline = flags.cmdline;
  }

  absl::string_view input = flags.serial_input;
  if (input == "auto") {
    // A person at a terminal can type into the guest's console; a script's
    // stdin is left alone.
    config->serial_input.kind = stdin_is_terminal
                                    ? SerialInputConfig::Kind::kStdin
                                    : SerialInputConfig::Kind::kNone;
  } else if (input == "none") {
    config->serial_input.kind = SerialInputConfig::Kind::kNone;
  } else if (input == "-") {
    config->serial_input.kind = SerialInputConfig::Kind::kStdin;
  } else if (absl::ConsumePrefix(&input, "unix:") && !input.empty()) {
    config->serial_input.kind = SerialInputConfig::Kind::kUnixSocket;
    config->serial_input.socket_path = std::string(input);
  } else {
    return FlagError("serial_input",
                     absl::StrCat("'", flags.serial_input,
                                  "' is not auto, none, - (stdin) or "
                                  "unix:PATH"));
  }
  return absl::OkStatus();
}

absl::Status ParseGuestFlags(const VmmFlags& flags, VmmConfig* config) {
  return ParseGuestFlags(flags, config, ::isatty(STDIN_FILENO) == 1);
}

}  // namespace faultline::vmm
