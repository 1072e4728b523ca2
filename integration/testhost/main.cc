// testhost: runs a command where KVM can run it. On a machine without
// hardware KVM (no /dev/kvm, or a software-only one), boots a nested test
// host through libvirt and runs the command inside.
//
//   testhost run [--where=auto|direct|testhost] [--timeout=10m]
//                [--memory=1536] [--cpus=2] [--console=FILE]
//                [--results=DIR] -- CMD ARGS...
//   testhost where [--where=...]   prints "direct" or "testhost" and why
//   testhost cleanup     destroys leftover faultline-testhost-* domains
//   testhost daemons     starts libvirtd and virtlogd unless they run
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "integration/testhost/daemons.h"
#include "integration/testhost/direct_run.h"
#include "integration/testhost/placement.h"
#include "integration/testhost/run_outcome.h"
#include "integration/testhost/signals.h"
#include "integration/testhost/test_host.h"

ABSL_FLAG(absl::Duration, timeout, absl::Minutes(10),
          "Deadline for the whole run (boot, command, power off); past it the "
          "test host is destroyed and testhost exits 124.");
ABSL_FLAG(uint64_t, memory, 1536, "Test host memory in MiB.");
ABSL_FLAG(int, cpus, 2, "Test host virtual CPUs.");
ABSL_FLAG(std::string, console, "",
          "Write the test host's console to this file instead of stdout.");
ABSL_FLAG(std::string, results, "",
          "Keep the results folder here (run.sh, console.log, exit_status, "
          "and what the command writes to $TESTHOST_RESULTS); default: a "
          "temporary folder, removed afterwards.");
ABSL_FLAG(std::string, kernel, faultline::testhost::kDefaultKernel,
          "The test host's kernel (installed by tools/setup).");
ABSL_FLAG(std::string, initramfs, "",
          "The test host's initramfs; default: the one Bazel built beside "
          "this binary.");
ABSL_FLAG(std::string, libvirt_uri, "qemu:///system", "libvirt to use.");
ABSL_FLAG(std::string, where, "auto",
          "Where the command runs: auto (directly when this machine has "
          "hardware KVM, else in the nested test host: no /dev/kvm, or a "
          "software-only one such as kvm_pvm), direct (on this machine's "
          "/dev/kvm whatever it is), or testhost (always boot the nested test "
          "host, e.g. to test the launcher).");

namespace faultline::testhost {
namespace {

constexpr char kUsage[] =
    "testhost run [flags] -- CMD ARGS...   runs CMD where KVM can run it "
    "(in a nested test host without hardware KVM here)\n"
    "testhost where [--where=...]         prints direct or testhost, then "
    "why\n"
    "testhost cleanup                     destroys leftover test host "
    "domains\n"
    "testhost daemons                     starts libvirtd and virtlogd unless "
    "they run (before a Bazel run: one a test starts dies with that test)";

void Report(absl::string_view sentence) {
  std::fprintf(stderr, "testhost: %s\n", std::string(sentence).c_str());
  std::fflush(stderr);
}

std::string ExecutablePath() {
  char buffer[4096];
  ssize_t length = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  return length > 0 ? std::string(buffer, static_cast<size_t>(length)) : "";
}

// The initramfs Bazel built: next to the real binary, or in the runfiles of
// whatever started us.
std::string FindInitramfs() {
  const std::string relative = "faultline/integration/testhost/initramfs.cpio";
  std::vector<std::string> candidates;
  const std::string self = ExecutablePath();
  if (!self.empty()) {
    candidates.push_back(self.substr(0, self.rfind('/') + 1) +
                         "initramfs.cpio");
    candidates.push_back(self + ".runfiles/" + relative);
  }
  for (const char* variable : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    const char* dir = getenv(variable);
    if (dir != nullptr) candidates.push_back(absl::StrCat(dir, "/", relative));
  }
  for (const std::string& candidate : candidates) {
    if (access(candidate.c_str(), R_OK) == 0) return candidate;
  }
  return candidates.empty() ? "initramfs.cpio" : candidates.front();
}

int Fail(const absl::Status& status) {
  Report(status.message());
  return absl::IsNotFound(status) ? kExitCommandNotFound : kExitTestHostFailed;
}

int Run(const std::vector<std::string>& command) {
  if (absl::Status status = InstallInterruptHandlers(); !status.ok()) {
    return Fail(status);
  }
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  if (timeout <= absl::ZeroDuration()) {
    return Fail(absl::InvalidArgumentError("--timeout must be positive"));
  }
  absl::StatusOr<CommandSpec> spec = DescribeCommand(command);
  if (!spec.ok()) return Fail(spec.status());

  absl::StatusOr<Placement> placement =
      ChoosePlacement(absl::GetFlag(FLAGS_where), ReadHostKvmFacts());
  if (!placement.ok()) return Fail(placement.status());
  Report(placement->reason);

  absl::StatusOr<RunOutcome> outcome;
  if (placement->direct) {
    DirectRunOptions options;
    options.timeout = timeout;
    options.results_dir = absl::GetFlag(FLAGS_results);
    options.console_path = absl::GetFlag(FLAGS_console);
    outcome = RunDirectly(command, options);
  } else {
    TestHostOptions options;
    options.timeout = timeout;
    options.memory_mib = absl::GetFlag(FLAGS_memory);
    options.cpus = absl::GetFlag(FLAGS_cpus);
    options.console_path = absl::GetFlag(FLAGS_console);
    options.results_dir = absl::GetFlag(FLAGS_results);
    options.kernel_path = absl::GetFlag(FLAGS_kernel);
    options.initramfs_path = absl::GetFlag(FLAGS_initramfs).empty()
                                 ? FindInitramfs()
                                 : absl::GetFlag(FLAGS_initramfs);
    options.libvirt_uri = absl::GetFlag(FLAGS_libvirt_uri);
    options.report = Report;
    outcome = RunInTestHost(options, *spec);
  }
  if (!outcome.ok()) return Fail(outcome.status());
  if (outcome->ending == RunOutcome::Ending::kTimedOut) {
    Report(absl::StrCat("timed out after ", absl::FormatDuration(timeout),
                        " (exit status ", kExitTimedOut, ")"));
  }
  return ExitStatusFor(*outcome);
}

}  // namespace
}  // namespace faultline::testhost

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(faultline::testhost::kUsage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  using faultline::testhost::kExitTestHostFailed;
  if (positional.size() >= 2 && absl::string_view(positional[1]) == "run") {
    std::vector<std::string> command(positional.begin() + 2, positional.end());
    return faultline::testhost::Run(command);
  }
  if (positional.size() == 2 && absl::string_view(positional[1]) == "where") {
    absl::StatusOr<faultline::testhost::Placement> placement =
        faultline::testhost::ChoosePlacement(
            absl::GetFlag(FLAGS_where),
            faultline::testhost::ReadHostKvmFacts());
    if (!placement.ok()) {
      faultline::testhost::Report(placement.status().message());
      return kExitTestHostFailed;
    }
    std::printf("%s\n%s\n", placement->direct ? "direct" : "testhost",
                placement->reason.c_str());
    return 0;
  }
  if (positional.size() == 2 && absl::string_view(positional[1]) == "cleanup") {
    absl::Status status = faultline::testhost::DestroyLeftoverDomains(
        absl::GetFlag(FLAGS_libvirt_uri), faultline::testhost::Report);
    if (!status.ok()) {
      faultline::testhost::Report(status.message());
      return kExitTestHostFailed;
    }
    return 0;
  }
  if (positional.size() == 2 && absl::string_view(positional[1]) == "daemons") {
    absl::Status status =
        faultline::testhost::EnsureLibvirtDaemons(faultline::testhost::Report);
    if (!status.ok()) {
      faultline::testhost::Report(status.message());
      return kExitTestHostFailed;
    }
    return 0;
  }
  std::fprintf(stderr, "usage:\n%s\n", faultline::testhost::kUsage);
  return 2;
}
