// One KVM virtual machine: memory slots and vCPU creation.
//
// Threading: SetUserMemoryRegion and CreateVcpu are called while the VM is
// built, from one thread; the object outlives every VcpuFd it made.
#ifndef FAULTLINE_VMM_KVM_VM_FD_H_
#define FAULTLINE_VMM_KVM_VM_FD_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/base/unique_fd.h"
#include "vmm/kvm/vcpu_fd.h"

namespace faultline::vmm {

class VmFd {
 public:
  static std::unique_ptr<VmFd> Adopt(UniqueFd fd, int vcpu_mmap_size);

  VmFd(const VmFd&) = delete;
  VmFd& operator=(const VmFd&) = delete;

  // Maps [guest_physical, +size) of the guest to host memory at host_address.
  absl::Status SetUserMemoryRegion(uint32_t slot, uint64_t guest_physical,
                                   uint64_t size, void* host_address);

  // Intel needs a TSS area below 4 GiB that overlaps nothing else.
  absl::Status SetTssAddress(uint64_t address);
  // Intel's identity-map page for real mode without unrestricted guests:
  // one page below 4 GiB, before any vCPU exists.
  absl::Status SetIdentityMapAddress(uint64_t address);

  // The in-kernel PIC, IOAPIC and local APICs (before any vCPU), and the
  // PIT with the speaker port left out (KVM_PIT_SPEAKER_DUMMY).
  absl::Status CreateIrqchip();
  absl::Status CreatePit2();
  // KVM_IRQ_LINE: the level of GSI `gsi` (ISA IRQ n is GSI n); needs
  // CreateIrqchip(). Safe from any thread.
  absl::Status SetIrqLine(uint32_t gsi, bool level);
  // KVM_SIGNAL_MSI: one message to the local APICs; needs CreateIrqchip().
  // Safe from any thread. OK also when the guest blocked it (KVM returns 0).
  absl::Status SignalMsi(uint64_t address, uint32_t data);

  absl::StatusOr<std::unique_ptr<VcpuFd>> CreateVcpu(int id);

 private:
  VmFd(UniqueFd fd, int vcpu_mmap_size)
      : fd_(std::move(fd)), vcpu_mmap_size_(vcpu_mmap_size) {}

  UniqueFd fd_;
  int vcpu_mmap_size_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_KVM_VM_FD_H_
