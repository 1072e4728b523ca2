#include "integration/testhost/placement.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace faultline::testhost {
namespace {

bool Exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// True when some "flags" line of cpuinfo lists vmx or svm.
bool CpuinfoHasVirtualizationFlag(const std::string& path) {
  std::ifstream cpuinfo(path);
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    for (absl::string_view flag :
         absl::StrSplit(absl::string_view(line).substr(colon + 1), ' ',
                        absl::SkipEmpty())) {
      if (flag == "vmx" || flag == "svm") return true;
    }
  }
  return false;
}

// Why a /dev/kvm here is software-only, or empty when it is not.
std::string SoftwareOnlyReason(const HostKvmFacts& facts) {
  if (facts.software_kvm_module) {
    return "/dev/kvm is served by kvm_pvm, software virtualization "
           "(/sys/module/kvm_pvm): a stock Linux guest cannot run on it and "
           "guest code runs far slower than nested KVM under TCG";
  }
  if (!facts.cpu_has_vmx_or_svm) {
    return "/dev/kvm exists but the CPU reports neither vmx nor svm "
           "(/proc/cpuinfo), so KVM here is software-only";
  }
  return "";
}

}  // namespace

HostKvmFacts ReadHostKvmFacts(const std::string& root) {
  const std::string base =
      root.empty() || root.back() != '/' ? root + "/" : root;
  HostKvmFacts facts;
  facts.has_dev_kvm = Exists(base + "dev/kvm");
  facts.cpu_has_vmx_or_svm =
      CpuinfoHasVirtualizationFlag(base + "proc/cpuinfo");
  facts.software_kvm_module = Exists(base + "sys/module/kvm_pvm");
  for (const char* module : {"kvm_intel", "kvm_amd"}) {
    if (Exists(absl::StrCat(base, "sys/module/", module))) {
      facts.hardware_kvm_module = module;
    }
  }
  return facts;
}

absl::StatusOr<Placement> ChoosePlacement(absl::string_view where,
                                          const HostKvmFacts& facts) {
  const std::string software =
      facts.has_dev_kvm ? SoftwareOnlyReason(facts) : "";
  if (where == "testhost") {
    return Placement{false, "--where=testhost: booting the nested test host"};
  }
  if (where == "direct") {
    if (!facts.has_dev_kvm) {
      return absl::FailedPreconditionError(
          "--where=direct needs /dev/kvm, and this machine has none; use "
          "--where=auto or --where=testhost");
    }
    return Placement{true,
                     software.empty()
                         ? "--where=direct: running directly on /dev/kvm"
                         : absl::StrCat("--where=direct: running directly "
                                        "although ",
                                        software)};
  }
  if (where != "auto") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--where must be auto, direct or testhost, got '", where, "'"));
  }
  if (!facts.has_dev_kvm) {
    return Placement{false,
                     "this machine has no /dev/kvm: running in the nested "
                     "test host (QEMU/TCG with nested SVM)"};
  }
  if (!software.empty()) {
    return Placement{false, absl::StrCat(software,
                                         ": running in the nested test host "
                                         "(QEMU/TCG with nested SVM)")};
  }
  return Placement{
      true, absl::StrCat("/dev/kvm present with hardware virtualization (",
                         facts.hardware_kvm_module.empty()
                             ? std::string("vmx/svm")
                             : facts.hardware_kvm_module,
                         "), running directly")};
}

}  // namespace faultline::testhost
