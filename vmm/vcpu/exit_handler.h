// What to do with one KVM exit, as a pure function over a kvm_run-like
// buffer: port and MMIO accesses go to the buses; HLT, SHUTDOWN, FAIL_ENTRY,
// INTERNAL_ERROR and SYSTEM_EVENT become decisions for the vCPU loop. Tests
// feed it made-up exits; no /dev/kvm is needed.
//
// Threading: reentrant; the buses do their own locking.
#ifndef FAULTLINE_VMM_VCPU_EXIT_HANDLER_H_
#define FAULTLINE_VMM_VCPU_EXIT_HANDLER_H_

#include <linux/kvm.h>

#include <cstddef>
#include <string>

#include "vmm/devices/io_bus.h"

namespace faultline::vmm {

struct ExitAction {
  enum class Kind {
    kContinue,  // re-enter the guest
    kHalt,      // this vCPU halted (interrupts are off: for good)
    kShutdown,  // the guest reset or triple-faulted
    kFail,      // KVM could not run the guest; `message` says why
  };
  Kind kind = Kind::kContinue;
  std::string message;
};

// `run` points at `run_bytes` bytes (the vCPU's mmap size); port data at
// io.data_offset is bounds-checked against it.
ExitAction HandleExit(kvm_run* run, size_t run_bytes, IoBus& port_bus,
                      IoBus& mmio_bus);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_VCPU_EXIT_HANDLER_H_
