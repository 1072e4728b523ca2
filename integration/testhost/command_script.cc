#include "integration/testhost/command_script.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace faultline::testhost {
namespace {

bool IsOverridden(absl::string_view entry) {
  for (absl::string_view name :
       {"TMPDIR=", "TEST_TMPDIR=", "TESTHOST_RESULTS="}) {
    if (absl::StartsWith(entry, name)) return true;
  }
  return false;
}

}  // namespace

std::string ShellQuote(absl::string_view text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "'\\''"}}), "'");
}

std::vector<std::string> GuestEnvironment(
    const std::vector<std::string>& host_environment) {
  std::vector<std::string> environment;
  for (const std::string& entry : host_environment) {
    const size_t equals = entry.find('=');
    if (equals == std::string::npos || equals == 0) continue;
    if (IsOverridden(entry)) continue;
    environment.push_back(entry);
  }
  environment.push_back("TMPDIR=/tmp");
  environment.push_back("TEST_TMPDIR=/tmp");
  environment.push_back(absl::StrCat("TESTHOST_RESULTS=", kGuestResultsDir));
  return environment;
}

absl::StatusOr<std::string> BuildRunScript(const CommandSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return absl::InvalidArgumentError("no command to run");
  }
  if (spec.working_dir.empty() || spec.working_dir[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("the working directory must be absolute, got \"",
                     spec.working_dir, "\""));
  }
  if (spec.argv[0].find('=') != std::string::npos) {
    // env(1) would take it for a variable assignment.
    return absl::InvalidArgumentError(
        absl::StrCat("the command name may not contain '=': ", spec.argv[0]));
  }
  for (const std::string& text : spec.argv) {
    if (text.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError("an argument contains a NUL byte");
    }
  }
  std::string script = absl::StrCat(
      "# Written by testhost; run by the test host's init inside the chroot.\n",
      "cd ", ShellQuote(spec.working_dir), " || {\n",
      "  echo \"testhost: cannot enter the working directory\" ",
      ShellQuote(spec.working_dir), " >&2\n", "  exit 125\n", "}\n",
      // "--" ends env's options, so an entry starting with '-' stays data.
      "exec env -i --");
  for (const std::string& entry : spec.environment) {
    absl::StrAppend(&script, " \\\n  ", ShellQuote(entry));
  }
  absl::StrAppend(&script, " \\\n ");
  for (const std::string& arg : spec.argv) {
    absl::StrAppend(&script, " ", ShellQuote(arg));
  }
  absl::StrAppend(&script, "\n");
  return script;
}

absl::StatusOr<int> ParseExitStatus(absl::string_view contents) {
  int status = -1;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(contents), &status) ||
      status < 0 || status > 255) {
    return absl::DataLossError(
        absl::StrCat("the test host recorded an unreadable exit status: \"",
                     contents, "\""));
  }
  return status;
}

}  // namespace faultline::testhost
