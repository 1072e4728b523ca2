// Runs one command in a fresh nested test host: a transient libvirt domain
// booted from Debian's kernel and the Bazel-built initramfs, whose init runs
// the command chrooted into this machine's root (shared read-only) and
// records its exit status in a writable results share.
//
// Threading: RunInTestHost runs on the calling thread and polls the domain,
// the console file, the deadline and PendingInterrupt() (signals.h).
#ifndef FAULTLINE_INTEGRATION_TESTHOST_TEST_HOST_H_
#define FAULTLINE_INTEGRATION_TESTHOST_TEST_HOST_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "integration/testhost/command_script.h"
#include "integration/testhost/run_outcome.h"

namespace faultline::testhost {

inline constexpr char kDefaultKernel[] =
    "/var/cache/faultline/kernel/boot/vmlinuz-6.12.117+deb12-amd64";
inline constexpr char kDomainNamePrefix[] = "faultline-testhost-";

struct TestHostOptions {
  // Covers booting, the command and power off.
  absl::Duration timeout = absl::Minutes(10);
  // Enough for a VMM inside that runs a 64+ MiB guest.
  uint64_t memory_mib = 1536;
  int cpus = 2;
  std::string kernel_path = kDefaultKernel;
  std::string initramfs_path;
  // Empty: the console streams to stdout. Otherwise it is copied here.
  std::string console_path;
  // Empty: a temporary folder, removed afterwards. Otherwise kept, holding
  // run.sh, console.log, exit_status and what the command wrote there.
  std::string results_dir;
  std::string libvirt_uri = "qemu:///system";
  // Receives one sentence per notable step (daemons started, domain name).
  std::function<void(absl::string_view)> report = [](absl::string_view) {};
};

// The command as the launcher sees it: argv checked (NotFound when the
// program does not exist on this machine, the root the test host shares),
// the current directory and environment. Paths under /tmp are refused: the
// test host mounts a fresh /tmp over them.
absl::StatusOr<CommandSpec> DescribeCommand(
    const std::vector<std::string>& argv);

// Boots the test host, runs `command`, and always destroys the domain:
// after the command, on timeout, on SIGINT/SIGTERM and on every error.
absl::StatusOr<RunOutcome> RunInTestHost(const TestHostOptions& options,
                                         const CommandSpec& command);

// A name no other run uses: prefix, process id, random suffix.
std::string NewDomainName();

// Destroys every domain whose name has kDomainNamePrefix: leftovers of
// launchers that were killed with SIGKILL.
absl::Status DestroyLeftoverDomains(
    const std::string& libvirt_uri,
    const std::function<void(absl::string_view)>& report);

}  // namespace faultline::testhost

#endif  // FAULTLINE_INTEGRATION_TESTHOST_TEST_HOST_H_
