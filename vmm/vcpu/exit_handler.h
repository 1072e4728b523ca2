// What to do with one KVM exit, as a pure function over a kvm_run-like
// buffer: port and MMIO accesses go to the buses; HLT, SHUTDOWN, FAIL_ENTRY,
// INTERNAL_ERROR and SYSTEM_EVENT become decisions for the vCPU loop. Tests
// feed it made-up exits; no /dev/kvm is needed.
//
// An MMIO exit inside guest memory is a memory error, not a device access:
// every guest-memory page is in a memslot, so KVM only emulates an access
// there when it cannot use the host page. Kernels differ in how a page
// poisoned through userfaultfd shows: 6.12 sends the vCPU thread SIGBUS
// (machine_check.h); 6.18 (Intel) emulates the access and exits to MMIO.
//
// Threading: reentrant; the buses do their own locking, guest memory is
// immutable.
#ifndef FAULTLINE_VMM_VCPU_EXIT_HANDLER_H_
#define FAULTLINE_VMM_VCPU_EXIT_HANDLER_H_

#include <linux/kvm.h>

#include <cstddef>
#include <functional>
#include <string>

#include "vmm/devices/io_bus.h"
#include "vmm/memory/guest_memory.h"

namespace faultline::vmm {

struct ExitAction {
  enum class Kind {
    kContinue,     // re-enter the guest
    kHalt,         // this vCPU halted (interrupts are off: for good)
    kShutdown,     // the guest reset or triple-faulted
    kFail,         // KVM could not run the guest; `message` says why
    kMemoryError,  // the guest touched an unusable guest-memory page
  };
  Kind kind = Kind::kContinue;
  std::string message;
  uint64_t guest_physical = 0;  // kMemoryError: the page
};

// What exits act on; every pointer must outlive the vCPU that uses it.
struct ExitContext {
  IoBus* port_bus = nullptr;
  IoBus* mmio_bus = nullptr;
  const GuestMemory* memory = nullptr;
  // Kernel guests: a shutdown exit (triple fault) is how Linux's reboot=t
  // resets the machine, so when set the vCPU loop calls this (on its
  // thread) instead of stopping the VM as crashed.
  std::function<void(const std::string& how)> on_shutdown = nullptr;
};

// `run` points at `run_bytes` bytes (the vCPU's mmap size); port data at
// io.data_offset is bounds-checked against it. A memory-error read leaves
// all-ones in the MMIO data, so the instruction KVM completes on re-entry
// (before the machine check is delivered) loads no stale bytes.
ExitAction HandleExit(kvm_run* run, size_t run_bytes,
                      const ExitContext& context);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_VCPU_EXIT_HANDLER_H_
