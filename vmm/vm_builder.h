// Builds one VM from a checked configuration, in one place that reads top
// to bottom (vm_builder.cc): numbered steps, each a function, each failure a
// typed error (vmm/stop) naming what went wrong. A step that needs another
// loader or device goes in at its number: loading the payload (steps 2 and
// 5) is the seam for a kernel loader, devices are step 7, the vCPUs' boot
// state step 8.
//
// Threading: call from main's thread; nothing runs guest code until
// VirtualMachine::Run().
#ifndef FAULTLINE_VMM_VM_BUILDER_H_
#define FAULTLINE_VMM_VM_BUILDER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "vmm/config.h"
#include "vmm/virtual_machine.h"

namespace faultline::vmm {

absl::StatusOr<std::unique_ptr<VirtualMachine>> BuildVm(
    const VmmConfig& config);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_VM_BUILDER_H_
