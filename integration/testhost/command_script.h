// The command handed to the test host: a shell script that init.sh runs
// chrooted into the host root, and the exit status it leaves behind.
#ifndef FAULTLINE_INTEGRATION_TESTHOST_COMMAND_SCRIPT_H_
#define FAULTLINE_INTEGRATION_TESTHOST_COMMAND_SCRIPT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace faultline::testhost {

// File names in the results folder, shared with init.sh.
inline constexpr char kRunScriptName[] = "run.sh";
inline constexpr char kExitStatusName[] = "exit_status";
inline constexpr char kInitErrorName[] = "init_error";
inline constexpr char kConsoleLogName[] = "console.log";

// Where init.sh mounts the results folder inside the chroot. The host's /tmp
// is hidden there by a fresh tmpfs.
inline constexpr char kGuestResultsDir[] = "/tmp/testhost-results";

struct CommandSpec {
  std::vector<std::string> argv;         // argv[0] as the user gave it
  std::string working_dir;               // absolute
  std::vector<std::string> environment;  // "NAME=value" entries
};

// `text` as one single-quoted sh word, safe for any bytes but NUL.
std::string ShellQuote(absl::string_view text);

// The environment the command gets inside the test host: `host_environment`
// with TMPDIR and TEST_TMPDIR pointing at the writable /tmp (the host root is
// read-only there) and TESTHOST_RESULTS at the results folder. Entries
// without '=' are dropped.
std::vector<std::string> GuestEnvironment(
    const std::vector<std::string>& host_environment);

// The script: enter the working directory (status 125 if that fails), then
// exec the command with exactly the given environment. env(1) reports a
// missing command with status 127, as shells do.
absl::StatusOr<std::string> BuildRunScript(const CommandSpec& spec);

// The contents of the exit status file, e.g. "7\n", as a number 0..255.
absl::StatusOr<int> ParseExitStatus(absl::string_view contents);

}  // namespace faultline::testhost

#endif  // FAULTLINE_INTEGRATION_TESTHOST_COMMAND_SCRIPT_H_
