// Validation of the boot information the VMM leaves at kBootInfoAddress.
// Portable: built for the host in tests as well.
#ifndef FAULTLINE_GUEST_DRIVERS_RUNTIME_BOOT_INFO_H_
#define FAULTLINE_GUEST_DRIVERS_RUNTIME_BOOT_INFO_H_

#include <stdint.h>

#include "guest-drivers/runtime/format.h"
#include "proto/guest_abi.h"

namespace faultline::guest {

using guest_abi::BootInfo;

// Checks magic, version, vCPU count, and that RAM and the image end agree
// with the layout in proto/guest_abi.h and with the image as linked
// (`linked_image_end`). On failure `error` says which field is wrong.
bool CheckBootInfo(const BootInfo& boot, uint64_t linked_image_end,
                   ErrorMessage* error);

}  // namespace faultline::guest

#endif  // FAULTLINE_GUEST_DRIVERS_RUNTIME_BOOT_INFO_H_
