// One vCPU: its descriptor and its mapped kvm_run structure.
//
// Threading: register calls and Run() happen on the vCPU's own thread, except
// RequestImmediateExit(), which other threads call (together with a signal)
// to make a running or about-to-run KVM_RUN return EINTR.
#ifndef FAULTLINE_VMM_KVM_VCPU_FD_H_
#define FAULTLINE_VMM_KVM_VCPU_FD_H_

#include <linux/kvm.h>

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/base/unique_fd.h"

namespace faultline::vmm {

class VcpuFd {
 public:
  static absl::StatusOr<std::unique_ptr<VcpuFd>> Create(UniqueFd fd,
                                                        int mmap_size);
  ~VcpuFd();

  VcpuFd(const VcpuFd&) = delete;
  VcpuFd& operator=(const VcpuFd&) = delete;

  absl::Status SetRegisters(const kvm_regs& regs);
  absl::Status SetSpecialRegisters(const kvm_sregs& sregs);
  absl::StatusOr<kvm_sregs> GetSpecialRegisters();
  absl::StatusOr<kvm_regs> GetRegisters();
  absl::Status SetCpuid(const std::vector<kvm_cpuid_entry2>& entries);
  // KVM_X86_SETUP_MCE: machine-check banks and MCG_CAP bits (see
  // vmm/vcpu/machine_check.h); needed before any InjectMachineCheck().
  absl::Status SetupMachineCheck(uint64_t mcg_cap);
  // KVM_X86_SET_MCE: records the error in its bank and, for an uncorrected
  // one, raises #MC in the guest on the next entry.
  absl::Status InjectMachineCheck(const kvm_x86_mce& mce);

  // KVM_RUN once. OK means an exit to inspect in run(); an EINTR/EAGAIN
  // interruption is returned as absl::CancelledError.
  absl::Status Run();

  // Makes the next or current KVM_RUN return EINTR; the owner clears it.
  void RequestImmediateExit() { run_->immediate_exit = 1; }
  void ClearImmediateExit() { run_->immediate_exit = 0; }

  kvm_run* run() { return run_; }

 private:
  VcpuFd(UniqueFd fd, kvm_run* run, int mmap_size)
      : fd_(std::move(fd)), run_(run), mmap_size_(mmap_size) {}

  UniqueFd fd_;
  kvm_run* run_;
  int mmap_size_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_KVM_VCPU_FD_H_
