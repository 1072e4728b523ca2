// Where `testhost run` puts a command: directly on this machine, or in the
// nested test host. The decision is a pure function of what the host reports
// about its virtualization (HostKvmFacts), never of a list of machines: a
// /dev/kvm served by software virtualization (kvm_pvm, or no vmx/svm CPU
// flag) cannot run a stock Linux guest and is far slower than nested KVM
// under TCG, so `auto` boots the test host there.
#ifndef FAULTLINE_INTEGRATION_TESTHOST_PLACEMENT_H_
#define FAULTLINE_INTEGRATION_TESTHOST_PLACEMENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace faultline::testhost {

// What this machine says about KVM, read from the file system.
struct HostKvmFacts {
  bool has_dev_kvm = false;          // /dev/kvm exists
  bool cpu_has_vmx_or_svm = false;   // a vmx or svm flag in /proc/cpuinfo
  bool software_kvm_module = false;  // /sys/module/kvm_pvm exists
  std::string hardware_kvm_module;   // "kvm_intel", "kvm_amd" or empty
};

// Reads the facts under `root` ("/" on a real machine; tests pass a folder
// laid out like one).
HostKvmFacts ReadHostKvmFacts(const std::string& root = "/");

struct Placement {
  bool direct = false;  // run on this machine, else in the nested test host
  // One sentence for the run's output: which way and why.
  std::string reason;
};

// --where=auto|direct|testhost against the facts. `direct` runs here
// whenever /dev/kvm exists (warning when it is software-only); `testhost`
// always boots the test host; `auto` runs here only on hardware KVM.
absl::StatusOr<Placement> ChoosePlacement(absl::string_view where,
                                          const HostKvmFacts& facts);

}  // namespace faultline::testhost

#endif  // FAULTLINE_INTEGRATION_TESTHOST_PLACEMENT_H_
