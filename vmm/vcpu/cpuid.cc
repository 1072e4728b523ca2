#include "vmm/vcpu/cpuid.h"

namespace faultline::vmm {

std::vector<kvm_cpuid_entry2> CpuidForVcpu(
    const std::vector<kvm_cpuid_entry2>& supported, uint32_t vcpu_id) {
  std::vector<kvm_cpuid_entry2> entries = supported;
  for (kvm_cpuid_entry2& entry : entries) {
    if (entry.function == 1) {
      // Initial APIC id in EBX[31:24].
      entry.ebx = (entry.ebx & 0x00FFFFFFu) | (vcpu_id << 24);
    } else if (entry.function == 0xB || entry.function == 0x1F) {
      entry.edx = vcpu_id;  // x2APIC id
    }
  }
  return entries;
}

}  // namespace faultline::vmm
