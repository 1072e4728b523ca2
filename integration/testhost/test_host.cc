#include "integration/testhost/test_host.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "integration/testhost/console.h"
#include "integration/testhost/daemons.h"
#include "integration/testhost/domain_xml.h"
#include "integration/testhost/libvirt_connection.h"
#include "integration/testhost/results_dir.h"
#include "integration/testhost/signals.h"
#include "integration/testhost/subprocess.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"
#include "proto/base/unique_fd.h"

extern char** environ;

namespace faultline::testhost {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(50);
// The guest kills the command this much after the launcher's own deadline,
// in case the launcher died without destroying the domain.
constexpr absl::Duration kGuestDeadlineSlack = absl::Seconds(60);

absl::Status CheckOutsideTmp(absl::string_view what, const std::string& path) {
  if (path == "/tmp" || absl::StartsWith(path, "/tmp/")) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, " ", path,
        " is under /tmp, which the test host replaces with a fresh tmpfs; "
        "use a folder elsewhere"));
  }
  return absl::OkStatus();
}

absl::Status CheckReadable(absl::string_view what, const std::string& path,
                           absl::string_view remedy) {
  if (path.empty() || path[0] != '/' || access(path.c_str(), R_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the test host ", what, " \"", path,
                     "\" is missing or unreadable: ", remedy));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RealPath(const std::string& path) {
  char* resolved = realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return ErrnoError(absl::StrCat("resolving ", path));
  std::string result(resolved);
  free(resolved);
  return result;
}

// Where the console goes: stdout, or a file of the user's choice.
absl::StatusOr<UniqueFd> OpenConsoleOutput(const std::string& console_path) {
  if (console_path.empty()) return UniqueFd(dup(STDOUT_FILENO));
  ASSIGN_OR_RETURN(
      int fd,
      CheckSyscall(::open(console_path.c_str(),
                          O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644),
                   absl::StrCat("creating the console file ", console_path)));
  return UniqueFd(fd);
}

// Reads what init.sh left behind once the domain is gone.
absl::StatusOr<int> CollectExitStatus(ResultsDir& results,
                                      const std::string& console_where) {
  ASSIGN_OR_RETURN(std::optional<std::string> init_error,
                   results.ReadFile(kInitErrorName));
  if (init_error.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the test host's init failed: ", *init_error, " (see ",
                     console_where, ")"));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> exit_status,
                   results.ReadFile(kExitStatusName));
  if (!exit_status.has_value()) {
    return absl::InternalError(absl::StrCat(
        "the test host stopped without recording the command's exit status "
        "(kernel panic, or init failed before mounting the results share); "
        "see ",
        console_where));
  }
  return ParseExitStatus(*exit_status);
}

// Whether init.sh said it was starting the command (its console line).
bool CommandStarted(const std::string& console_log) {
  std::ifstream in(console_log);
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StrContains(line, "testhost-init: running the command")) {
      return true;
    }
  }
  return false;
}

// Follows the console until the domain ends by itself, the deadline passes
// or a signal arrives; in the last two cases destroys the domain. The exit
// status of a domain that ended by itself is for the caller to collect.
absl::StatusOr<RunOutcome> SuperviseDomain(Domain& domain,
                                           ConsoleFollower& console,
                                           absl::Time deadline,
                                           const TestHostOptions& options) {
  bool following_console = true;
  auto pump_console = [&] {
    if (!following_console) return;
    if (absl::Status status = console.Pump(); !status.ok()) {
      options.report(
          absl::StrCat("stopped following the console: ", status.message()));
      following_console = false;
    }
  };
  RunOutcome outcome;
  while (true) {
    pump_console();
    ASSIGN_OR_RETURN(bool running, domain.IsRunning());
    if (!running) break;
    if (int signal_number = PendingInterrupt(); signal_number != 0) {
      RETURN_IF_ERROR(domain.Destroy());
      options.report(absl::StrCat("interrupted by signal ", signal_number,
                                  "; destroyed domain ", domain.name()));
      outcome.ending = RunOutcome::Ending::kInterrupted;
      outcome.signal = signal_number;
      break;
    }
    if (absl::Now() >= deadline) {
      RETURN_IF_ERROR(domain.Destroy());
      options.report(
          absl::StrCat("deadline passed; destroyed domain ", domain.name()));
      outcome.ending = RunOutcome::Ending::kTimedOut;
      break;
    }
    absl::SleepFor(kPollInterval);
  }
  pump_console();
  return outcome;
}

}  // namespace

absl::StatusOr<CommandSpec> DescribeCommand(
    const std::vector<std::string>& argv) {
  if (argv.empty()) {
    return absl::InvalidArgumentError("no command given (testhost run -- CMD)");
  }
  const char* path_env = getenv("PATH");
  ASSIGN_OR_RETURN(
      std::string program,
      FindExecutable(argv[0], path_env != nullptr ? path_env : ""));
  ASSIGN_OR_RETURN(std::string real_program, RealPath(program));
  RETURN_IF_ERROR(CheckOutsideTmp("the command", real_program));
  CommandSpec spec;
  spec.argv = argv;
  char* cwd = getcwd(nullptr, 0);
  if (cwd == nullptr) return ErrnoError("reading the working directory");
  spec.working_dir = cwd;
  free(cwd);
  ASSIGN_OR_RETURN(spec.working_dir, RealPath(spec.working_dir));
  RETURN_IF_ERROR(CheckOutsideTmp("the working directory", spec.working_dir));
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    environment.emplace_back(*entry);
  }
  spec.environment = GuestEnvironment(environment);
  return spec;
}

std::string NewDomainName() {
  std::random_device random;
  return absl::StrFormat("%s%d-%08x", kDomainNamePrefix, getpid(), random());
}

absl::StatusOr<RunOutcome> RunInTestHost(const TestHostOptions& options,
                                         const CommandSpec& command) {
  RETURN_IF_ERROR(CheckReadable("kernel", options.kernel_path,
                                "run tools/setup to fetch it"));
  RETURN_IF_ERROR(CheckReadable(
      "initramfs", options.initramfs_path,
      "build //integration/testhost:initramfs, or pass --initramfs"));
  ASSIGN_OR_RETURN(std::string kernel, RealPath(options.kernel_path));
  ASSIGN_OR_RETURN(std::string initramfs, RealPath(options.initramfs_path));
  ASSIGN_OR_RETURN(std::string script, BuildRunScript(command));

  RETURN_IF_ERROR(EnsureLibvirtDaemons(options.report));
  ASSIGN_OR_RETURN(std::unique_ptr<LibvirtConnection> connection,
                   LibvirtConnection::Open(options.libvirt_uri));

  ASSIGN_OR_RETURN(std::unique_ptr<ResultsDir> results,
                   ResultsDir::Create(options.results_dir));
  RETURN_IF_ERROR(results->WriteFile(kRunScriptName, script));
  ASSIGN_OR_RETURN(UniqueFd console_output,
                   OpenConsoleOutput(options.console_path));
  ASSIGN_OR_RETURN(std::unique_ptr<ConsoleFollower> console,
                   ConsoleFollower::Create(results->PathOf(kConsoleLogName),
                                           console_output.get()));
  const std::string console_where = options.console_path.empty()
                                        ? "the console output above"
                                        : options.console_path;

  DomainConfig config;
  config.name = NewDomainName();
  config.memory_mib = options.memory_mib;
  config.cpus = options.cpus;
  config.kernel_path = kernel;
  config.initramfs_path = initramfs;
  config.kernel_cmdline =
      absl::StrCat("console=ttyS0 quiet panic=-1 testhost.deadline=",
                   absl::ToInt64Seconds(options.timeout + kGuestDeadlineSlack));
  config.console_path = results->PathOf(kConsoleLogName);
  config.results_dir = results->path();
  ASSIGN_OR_RETURN(std::string xml, BuildDomainXml(config));

  if (int signal_number = PendingInterrupt(); signal_number != 0) {
    RunOutcome interrupted;
    interrupted.ending = RunOutcome::Ending::kInterrupted;
    interrupted.signal = signal_number;
    return interrupted;
  }
  const absl::Time deadline = absl::Now() + options.timeout;
  // A test host whose kernel dies before init starts the command (TCG's
  // rare "Oops: int3" in __schedule) is booted once more: nothing ran yet.
  for (int boot = 1;; ++boot) {
    const absl::Time start = absl::Now();
    ASSIGN_OR_RETURN(std::unique_ptr<Domain> domain,
                     connection->CreateTransientDomain(xml));
    options.report(
        absl::StrCat("started domain ", domain->name(), " in ",
                     absl::FormatDuration(absl::Trunc(
                         absl::Now() - start, absl::Milliseconds(100)))));
    ASSIGN_OR_RETURN(RunOutcome outcome,
                     SuperviseDomain(*domain, *console, deadline, options));
    options.report(
        absl::StrCat("domain ", domain->name(), " ended after ",
                     absl::FormatDuration(absl::Trunc(
                         absl::Now() - start, absl::Milliseconds(100)))));
    if (outcome.ending != RunOutcome::Ending::kExited) return outcome;
    absl::StatusOr<int> exit_status =
        CollectExitStatus(*results, console_where);
    if (!exit_status.ok() && boot == 1 && absl::Now() < deadline &&
        !CommandStarted(results->PathOf(kConsoleLogName))) {
      options.report(absl::StrCat(
          "the test host died before its command started (",
          exit_status.status().message(), "); booting it once more"));
      continue;
    }
    RETURN_IF_ERROR(exit_status.status());
    outcome.exit_status = *exit_status;
    return outcome;
  }
}

absl::Status DestroyLeftoverDomains(
    const std::string& libvirt_uri,
    const std::function<void(absl::string_view)>& report) {
  ASSIGN_OR_RETURN(std::unique_ptr<LibvirtConnection> connection,
                   LibvirtConnection::Open(libvirt_uri));
  ASSIGN_OR_RETURN(std::vector<std::string> names,
                   connection->ListDomainNames());
  for (const std::string& name : names) {
    if (!absl::StartsWith(name, kDomainNamePrefix)) continue;
    RETURN_IF_ERROR(connection->DestroyDomainByName(name));
    report(absl::StrCat("destroyed leftover domain ", name));
  }
  return absl::OkStatus();
}

}  // namespace faultline::testhost
