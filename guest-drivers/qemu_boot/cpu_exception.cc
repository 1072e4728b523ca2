// A payload that touches memory outside the identity map, so the smoke test
// can check that a CPU exception is reported and ends the run with status 3.
#include "guest-drivers/runtime/runtime.h"

namespace faultline::guest {

int GuestMain(const BootInfo&, uint32_t vcpu_id) {
  if (vcpu_id != 0) return kExitPass;
  Print("cpu_exception: reading 0x%llx, beyond the identity map\n",
        static_cast<unsigned long long>(guest_abi::kIdentityMapBytes));
  const auto* outside =
      reinterpret_cast<const volatile uint64_t*>(guest_abi::kIdentityMapBytes);
  return static_cast<int>(*outside);
}

}  // namespace faultline::guest
