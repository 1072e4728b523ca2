// Builds one VM from a checked configuration, in one place that reads top
// to bottom (vm_builder.cc): numbered steps, each a function, each failure a
// typed error (vmm/stop) naming what went wrong. The guest image (a
// payload, a Linux bzImage or a multiboot kernel) is read in step 2 and
// installed in step 5; what each boot format needs from the machine
// (interrupt controllers, PC devices, entry registers) is guest_machine.h's,
// called from steps 6 to 8.
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
