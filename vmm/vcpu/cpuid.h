// Per-vCPU CPUID: KVM's supported entries with this vCPU's APIC id, so that
// guests can tell vCPUs apart and KVM accepts long mode (it checks the LM
// bit of the guest CPUID when EFER.LME is set), the vCPU count, the
// hypervisor bit (Linux then looks for KVM's leaves and uses kvm-clock) and
// the TSC-deadline timer when KVM emulates it. Pure.
#ifndef FAULTLINE_VMM_VCPU_CPUID_H_
#define FAULTLINE_VMM_VCPU_CPUID_H_

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace faultline::vmm {

struct CpuidOptions {
  uint32_t vcpu_count = 1;
  bool tsc_deadline_timer = false;  // KVM_CAP_TSC_DEADLINE_TIMER
};

std::vector<kvm_cpuid_entry2> CpuidForVcpu(
    const std::vector<kvm_cpuid_entry2>& supported, uint32_t vcpu_id,
    const CpuidOptions& options = {});

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_VCPU_CPUID_H_
