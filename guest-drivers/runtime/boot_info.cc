#include "guest-drivers/runtime/boot_info.h"

namespace faultline::guest {

namespace abi = guest_abi;

bool CheckBootInfo(const BootInfo& boot, uint64_t linked_image_end,
                   ErrorMessage* error) {
  if (boot.magic != abi::kBootInfoMagic) {
    error->Set("boot info at 0x%llx has magic 0x%llx, expected 0x%llx",
               static_cast<unsigned long long>(abi::kBootInfoAddress),
               static_cast<unsigned long long>(boot.magic),
               static_cast<unsigned long long>(abi::kBootInfoMagic));
    return false;
  }
  if (boot.version != abi::kBootInfoVersion) {
    error->Set("boot info version %u, this payload speaks version %u",
               boot.version, abi::kBootInfoVersion);
    return false;
  }
  if (boot.vcpu_count == 0 || boot.vcpu_count > abi::kMaxVcpus) {
    error->Set("boot info says %u vCPUs, supported 1..%u", boot.vcpu_count,
               abi::kMaxVcpus);
    return false;
  }
  if (boot.ram_bytes % abi::kPageBytes != 0 ||
      boot.ram_bytes > abi::kMaxRamBytes) {
    error->Set("RAM size 0x%llx is not page-aligned or above 0x%llx",
               static_cast<unsigned long long>(boot.ram_bytes),
               static_cast<unsigned long long>(abi::kMaxRamBytes));
    return false;
  }
  if (boot.image_end % abi::kPageBytes != 0 ||
      boot.image_end < linked_image_end || boot.image_end > boot.ram_bytes) {
    error->Set(
        "image end 0x%llx is not page-aligned, below the linked end 0x%llx "
        "or above RAM 0x%llx",
        static_cast<unsigned long long>(boot.image_end),
        static_cast<unsigned long long>(linked_image_end),
        static_cast<unsigned long long>(boot.ram_bytes));
    return false;
  }
  return true;
}

}  // namespace faultline::guest
