// The boot state of guest_abi.h as plain data: the pages the loader installs
// below the payload (boot info, GDT, identity-mapping page tables) and the
// vCPU registers for 64-bit long mode. Pure: nothing is installed here.
#ifndef FAULTLINE_VMM_LOADER_BOOT_STATE_H_
#define FAULTLINE_VMM_LOADER_BOOT_STATE_H_

#include <linux/kvm.h>

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "vmm/loader/entry_state.h"

namespace faultline::vmm {

struct BootParameters {
  uint64_t ram_bytes = 0;
  uint32_t vcpu_count = 1;
  uint64_t image_end = 0;
  std::string args;  // space-separated key=value pairs
};

// Pages by guest-physical address: BootInfo, GDT, PML4, PDPT and the page
// directories covering kIdentityMapBytes with 2 MiB pages.
absl::StatusOr<std::map<uint64_t, PageBytes>> BuildBootPages(
    const BootParameters& parameters);

// How vCPU `vcpu_id` enters a payload: long mode at `entry` with the ABI's
// selectors, GDT and page tables, RDI = boot info, RSI = the vCPU id.
EntryState PayloadEntryState(uint64_t entry, uint32_t vcpu_id);

// General registers of vCPU `vcpu_id` at the entry point.
kvm_regs BootRegisters(uint64_t entry, uint32_t vcpu_id);

// Turns KVM's initial special registers into long mode with paging on.
void SetLongModeSpecialRegisters(kvm_sregs* sregs);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_LOADER_BOOT_STATE_H_
