// A test-only stand-in for the VMM's loader, so payloads can be smoke-tested
// under plain QEMU (TCG, no KVM, no broker): QEMU boots this shim as a
// multiboot kernel with the payload ELF as its module; the shim sets up the
// boot state of proto/guest_abi.h (boot info, GDT, page tables, long mode),
// starts the other CPUs through the local APIC and enters the payload on all
// CPUs at once. RAM above the image is plain zeroed memory, not a broker.
#ifndef FAULTLINE_GUEST_DRIVERS_QEMU_BOOT_BOOT_SHIM_H_
#define FAULTLINE_GUEST_DRIVERS_QEMU_BOOT_BOOT_SHIM_H_

#include <stdint.h>

extern "C" {
// Set by the asm half.
extern uint32_t shim_multiboot_info;
extern uint32_t shim_aps_arrived;
extern uint32_t shim_release;
extern uint64_t shim_payload_entry;
extern char shim_ap_trampoline[];
extern char shim_ap_trampoline_end[];

// The C++ half: loads the payload and starts it. Called on the boot CPU in
// long mode with `multiboot_info` from QEMU.
[[noreturn]] void shim_main(uint32_t multiboot_info);
[[noreturn]] void shim_enter_payload();
}

#endif  // FAULTLINE_GUEST_DRIVERS_QEMU_BOOT_BOOT_SHIM_H_
