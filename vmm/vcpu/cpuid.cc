#include "vmm/vcpu/cpuid.h"

namespace faultline::vmm {
namespace {

constexpr uint32_t kLeaf1EcxTscDeadline = 1u << 24;
constexpr uint32_t kLeaf1EcxHypervisor = 1u << 31;
constexpr uint32_t kLeaf1EdxHyperThreading = 1u << 28;

}  // namespace

std::vector<kvm_cpuid_entry2> CpuidForVcpu(
    const std::vector<kvm_cpuid_entry2>& supported, uint32_t vcpu_id,
    const CpuidOptions& options) {
  std::vector<kvm_cpuid_entry2> entries = supported;
  for (kvm_cpuid_entry2& entry : entries) {
    if (entry.function == 1) {
      // Initial APIC id in EBX[31:24], logical processors in EBX[23:16]
      // (meaningful with the HTT bit, set when there is more than one).
      entry.ebx = (entry.ebx & 0x0000FFFFu) | (vcpu_id << 24) |
                  ((options.vcpu_count & 0xFFu) << 16);
      if (options.vcpu_count > 1) entry.edx |= kLeaf1EdxHyperThreading;
      entry.ecx |= kLeaf1EcxHypervisor;
      if (options.tsc_deadline_timer) entry.ecx |= kLeaf1EcxTscDeadline;
    } else if (entry.function == 0xB || entry.function == 0x1F) {
      entry.edx = vcpu_id;  // x2APIC id
    }
  }
  return entries;
}

}  // namespace faultline::vmm
