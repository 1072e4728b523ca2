// CPU exception handlers: an unexpected exception (a bug) is reported on the
// console with the vector, error code, RIP and CR2, and ends the run with
// kExitCpuException instead of triple-faulting into an opaque VM shutdown. A
// machine check (a page the broker answered error for, poisoned by the VMM)
// is reported with its bank's status and guest-physical address and ends the
// run with kExitMachineCheck.
#ifndef FAULTLINE_GUEST_DRIVERS_RUNTIME_EXCEPTIONS_H_
#define FAULTLINE_GUEST_DRIVERS_RUNTIME_EXCEPTIONS_H_

#include <stdint.h>

namespace faultline::guest {

// Fills the shared IDT (vCPU 0, before the other vCPUs are released).
void BuildExceptionTable();
// Loads the IDT on the calling vCPU (every vCPU) and turns on machine-check
// delivery where the CPU supports it.
void LoadExceptionTable();

// Which vCPU's stack `stack_address` lies on (runtime.cc owns the stacks).
uint32_t CurrentVcpuFromStack(uint64_t stack_address);

}  // namespace faultline::guest

#endif  // FAULTLINE_GUEST_DRIVERS_RUNTIME_EXCEPTIONS_H_
