// What the loaders of kernel guests (Linux, multiboot) hand to the VM
// builder: how vCPU 0 enters (the others wait in KVM for the guest's
// INIT/SIPI, as on a PC) and how many pages they installed.
#ifndef FAULTLINE_VMM_LOADER_KERNEL_IMAGE_H_
#define FAULTLINE_VMM_LOADER_KERNEL_IMAGE_H_

#include <cstdint>
#include <string>

#include "vmm/loader/entry_state.h"

namespace faultline::vmm {

struct LoadedKernel {
  EntryState boot_vcpu;
  uint64_t pages_installed = 0;
  // One line for the log: what went where.
  std::string description;
};

// A file (an initrd, a multiboot module) as given, and its bytes.
struct KernelModule {
  std::string name;  // as on the command line, e.g. "rootfs.cpio" or "a b c"
  std::string bytes;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_LOADER_KERNEL_IMAGE_H_
