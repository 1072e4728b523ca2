#include "vmm/kvm/vcpu_fd.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>

#include "proto/base/errno_status.h"
#include "vmm/kvm/cpuid_buffer.h"

namespace faultline::vmm {

absl::StatusOr<std::unique_ptr<VcpuFd>> VcpuFd::Create(UniqueFd fd,
                                                       int mmap_size) {
  void* run = ::mmap(nullptr, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                     fd.get(), 0);
  if (run == MAP_FAILED) return ErrnoError("mmap kvm_run");
  return std::unique_ptr<VcpuFd>(
      new VcpuFd(std::move(fd), static_cast<kvm_run*>(run), mmap_size));
}

VcpuFd::~VcpuFd() { ::munmap(run_, mmap_size_); }

absl::Status VcpuFd::SetRegisters(const kvm_regs& regs) {
  return CheckSyscall(::ioctl(fd_.get(), KVM_SET_REGS, &regs), "KVM_SET_REGS")
      .status();
}

absl::Status VcpuFd::SetSpecialRegisters(const kvm_sregs& sregs) {
  return CheckSyscall(::ioctl(fd_.get(), KVM_SET_SREGS, &sregs),
                      "KVM_SET_SREGS")
      .status();
}

absl::StatusOr<kvm_sregs> VcpuFd::GetSpecialRegisters() {
  kvm_sregs sregs = {};
  if (::ioctl(fd_.get(), KVM_GET_SREGS, &sregs) < 0) {
    return ErrnoError("KVM_GET_SREGS");
  }
  return sregs;
}

absl::StatusOr<kvm_regs> VcpuFd::GetRegisters() {
  kvm_regs regs = {};
  if (::ioctl(fd_.get(), KVM_GET_REGS, &regs) < 0) {
    return ErrnoError("KVM_GET_REGS");
  }
  return regs;
}

absl::Status VcpuFd::SetCpuid(const std::vector<kvm_cpuid_entry2>& entries) {
  CpuidBuffer buffer(entries);
  return CheckSyscall(::ioctl(fd_.get(), kKvmSetCpuid2, buffer.data()),
                      "KVM_SET_CPUID2")
      .status();
}

absl::Status VcpuFd::SetupMachineCheck(uint64_t mcg_cap) {
  return CheckSyscall(::ioctl(fd_.get(), KVM_X86_SETUP_MCE, &mcg_cap),
                      "KVM_X86_SETUP_MCE")
      .status();
}

absl::Status VcpuFd::InjectMachineCheck(const kvm_x86_mce& mce) {
  return CheckSyscall(::ioctl(fd_.get(), KVM_X86_SET_MCE, &mce),
                      "KVM_X86_SET_MCE")
      .status();
}

absl::Status VcpuFd::Run() {
  if (::ioctl(fd_.get(), KVM_RUN, 0) == 0) return absl::OkStatus();
  if (errno == EINTR || errno == EAGAIN) {
    return absl::CancelledError("KVM_RUN interrupted");
  }
  return ErrnoError("KVM_RUN");
}

}  // namespace faultline::vmm
