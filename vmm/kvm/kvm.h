// The KVM system device: API version and capability checks, and the factory
// for VMs. Owns the /dev/kvm descriptor.
//
// Threading: immutable after Open(); every method may be called from any
// thread.
#ifndef FAULTLINE_VMM_KVM_KVM_H_
#define FAULTLINE_VMM_KVM_KVM_H_

#include <linux/kvm.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/base/unique_fd.h"
#include "vmm/kvm/vm_fd.h"

namespace faultline::vmm {

inline constexpr char kDefaultKvmPath[] = "/dev/kvm";

class Kvm {
 public:
  // Opens the device and checks the API version and the capabilities the VMM
  // relies on. A missing device says how to run here (the nested test host).
  static absl::StatusOr<std::unique_ptr<Kvm>> Open(
      const std::string& path = kDefaultKvmPath);

  Kvm(const Kvm&) = delete;
  Kvm& operator=(const Kvm&) = delete;

  // KVM_CHECK_EXTENSION: > 0 when present (some capabilities return a count).
  int CheckExtension(int capability) const;

  // The CPUID entries KVM can expose, for KVM_SET_CPUID2.
  absl::StatusOr<std::vector<kvm_cpuid_entry2>> SupportedCpuid() const;

  // What KVM can emulate, as an MCG_CAP value: the bits from
  // KVM_X86_GET_MCE_CAP_SUPPORTED and, in the low byte, the most banks
  // (KVM_CAP_MCE's answer). Unimplemented without KVM_CAP_MCE.
  absl::StatusOr<uint64_t> SupportedMachineCheckCapabilities() const;

  absl::StatusOr<std::unique_ptr<VmFd>> CreateVm() const;

  // Bytes of each vCPU's kvm_run mapping.
  int vcpu_mmap_size() const { return vcpu_mmap_size_; }

 private:
  Kvm(UniqueFd fd, int vcpu_mmap_size)
      : fd_(std::move(fd)), vcpu_mmap_size_(vcpu_mmap_size) {}

  UniqueFd fd_;
  int vcpu_mmap_size_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_KVM_KVM_H_
