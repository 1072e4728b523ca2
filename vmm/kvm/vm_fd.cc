#include "vmm/kvm/vm_fd.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "absl/strings/str_cat.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"

namespace faultline::vmm {

std::unique_ptr<VmFd> VmFd::Adopt(UniqueFd fd, int vcpu_mmap_size) {
  return std::unique_ptr<VmFd>(new VmFd(std::move(fd), vcpu_mmap_size));
}

absl::Status VmFd::SetUserMemoryRegion(uint32_t slot, uint64_t guest_physical,
                                       uint64_t size, void* host_address) {
  kvm_userspace_memory_region region = {};
  region.slot = slot;
  region.guest_phys_addr = guest_physical;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<uint64_t>(host_address);
  return CheckSyscall(::ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region),
                      absl::StrCat("KVM_SET_USER_MEMORY_REGION slot ", slot))
      .status();
}

absl::Status VmFd::SetTssAddress(uint64_t address) {
  return CheckSyscall(::ioctl(fd_.get(), KVM_SET_TSS_ADDR, address),
                      "KVM_SET_TSS_ADDR")
      .status();
}

absl::Status VmFd::SetIdentityMapAddress(uint64_t address) {
  return CheckSyscall(::ioctl(fd_.get(), KVM_SET_IDENTITY_MAP_ADDR, &address),
                      "KVM_SET_IDENTITY_MAP_ADDR")
      .status();
}

absl::Status VmFd::CreateIrqchip() {
  return CheckSyscall(::ioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0),
                      "KVM_CREATE_IRQCHIP")
      .status();
}

absl::Status VmFd::CreatePit2() {
  kvm_pit_config config = {};
  config.flags = KVM_PIT_SPEAKER_DUMMY;
  return CheckSyscall(::ioctl(fd_.get(), KVM_CREATE_PIT2, &config),
                      "KVM_CREATE_PIT2")
      .status();
}

absl::Status VmFd::SetIrqLine(uint32_t gsi, bool level) {
  kvm_irq_level irq = {};
  irq.irq = gsi;
  irq.level = level ? 1 : 0;
  return CheckSyscall(::ioctl(fd_.get(), KVM_IRQ_LINE, &irq),
                      absl::StrCat("KVM_IRQ_LINE ", gsi))
      .status();
}

absl::Status VmFd::SignalMsi(uint64_t address, uint32_t data) {
  kvm_msi msi = {};
  msi.address_lo = static_cast<uint32_t>(address);
  msi.address_hi = static_cast<uint32_t>(address >> 32);
  msi.data = data;
  return CheckSyscall(::ioctl(fd_.get(), KVM_SIGNAL_MSI, &msi),
                      "KVM_SIGNAL_MSI")
      .status();
}

absl::StatusOr<std::unique_ptr<VcpuFd>> VmFd::CreateVcpu(int id) {
  ASSIGN_OR_RETURN(const int vcpu,
                   CheckSyscall(::ioctl(fd_.get(), KVM_CREATE_VCPU, id),
                                absl::StrCat("KVM_CREATE_VCPU ", id)));
  return VcpuFd::Create(UniqueFd(vcpu), vcpu_mmap_size_);
}

}  // namespace faultline::vmm
