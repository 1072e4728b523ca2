// The guest runtime's contract with payloads. The VMM starts every vCPU at
// the entry point at once (proto/guest_abi.h); the runtime gives each its own
// stack, has vCPU 0 check the boot info and program the console, then runs
// the payload's GuestMain on every vCPU. When all have returned, vCPU 0's
// return value becomes the run's exit status.
#ifndef FAULTLINE_GUEST_DRIVERS_RUNTIME_RUNTIME_H_
#define FAULTLINE_GUEST_DRIVERS_RUNTIME_RUNTIME_H_

#include <stdint.h>

#include "guest-drivers/runtime/console.h"
#include "guest-drivers/runtime/format.h"
#include "proto/guest_abi.h"

namespace faultline::guest {

using guest_abi::BootInfo;

// Exit statuses every payload uses (guest-drivers/README.md).
enum ExitStatus : uint32_t {
  kExitPass = 0,
  kExitFail = 1,          // the check failed: mismatches, lost writes
  kExitBadSetup = 2,      // bad parameters or environment (device absent)
  kExitCpuException = 3,  // the CPU raised an exception the payload did not
                          // expect
  kExitMachineCheck = 4,  // a machine check: a page the broker answered
                          // error for was touched (the VMM poisoned it)
};

// Defined by each payload. Runs on every vCPU at once, each on its own stack.
int GuestMain(const BootInfo& boot, uint32_t vcpu_id);

// Ends the run: the status goes to the debug-exit port. Never returns.
[[noreturn]] void Exit(uint32_t status);

// Prints "RESULT: pass <message>" (status 0) or "RESULT: fail <message>"
// (any other status) as the run's last serial line, then exits.
[[noreturn]] void ExitWithResult(uint32_t status, const char* format, ...)
    FAULTLINE_PRINTF_LIKE(2, 3);

// The vCPUs in this run (BootInfo::vcpu_count, validated).
uint32_t VcpuCount();

// Returns once every vCPU has called it (reusable, one round at a time).
void WaitForAllVcpus();

// The end of this image as linked (page-aligned, past .bss).
uint64_t LinkedImageEnd();

}  // namespace faultline::guest

#endif  // FAULTLINE_GUEST_DRIVERS_RUNTIME_RUNTIME_H_
