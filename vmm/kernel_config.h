// The flags that pick the guest: --guest (a payload) or --kernel (a Linux
// bzImage or a multiboot kernel) with --initrd and --cmdline, and the
// guest's serial input (--serial_input). Pure; errors name the flag.
#ifndef FAULTLINE_VMM_KERNEL_CONFIG_H_
#define FAULTLINE_VMM_KERNEL_CONFIG_H_

#include "absl/status/status.h"
#include "vmm/config.h"

namespace faultline::vmm {

// Fills config's guest_path, kernel_path, initrds, kernel_cmdline and
// serial_input. `stdin_is_terminal` decides --serial_input=auto.
absl::Status ParseGuestFlags(const VmmFlags& flags, VmmConfig* config,
                             bool stdin_is_terminal);
absl::Status ParseGuestFlags(const VmmFlags& flags, VmmConfig* config);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_KERNEL_CONFIG_H_
