#include "vmm/kvm/kvm.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"
#include "vmm/kvm/cpuid_buffer.h"

namespace faultline::vmm {
namespace {

struct RequiredCapability {
  int capability;
  const char* name;
};

constexpr RequiredCapability kRequiredCapabilities[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
};

}  // namespace

absl::StatusOr<std::unique_ptr<Kvm>> Kvm::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) {
    const int error = errno;
    std::string hint;
    if (error == ENOENT) {
      hint =
          " (this machine has no KVM; run the VMM inside the nested test "
          "host: bazel-bin/integration/testhost/testhost run -- vmm ...)";
    }
    return absl::ErrnoToStatus(error, absl::StrCat("open ", path, hint));
  }
  ASSIGN_OR_RETURN(const int version,
                   CheckSyscall(::ioctl(fd.get(), KVM_GET_API_VERSION, 0),
                                "KVM_GET_API_VERSION"));
  if (version != KVM_API_VERSION) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " speaks KVM API version ", version, ", need ", KVM_API_VERSION));
  }
  for (const RequiredCapability& required : kRequiredCapabilities) {
    if (::ioctl(fd.get(), KVM_CHECK_EXTENSION, required.capability) <= 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " lacks ", required.name));
    }
  }
  ASSIGN_OR_RETURN(const int mmap_size,
                   CheckSyscall(::ioctl(fd.get(), KVM_GET_VCPU_MMAP_SIZE, 0),
                                "KVM_GET_VCPU_MMAP_SIZE"));
  return std::unique_ptr<Kvm>(new Kvm(std::move(fd), mmap_size));
}

int Kvm::CheckExtension(int capability) const {
  const int result = ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, capability);
  return result < 0 ? 0 : result;
}

absl::StatusOr<std::vector<kvm_cpuid_entry2>> Kvm::SupportedCpuid() const {
  // Grows the buffer until KVM stops answering E2BIG.
  for (uint32_t capacity = 64; capacity <= 4096; capacity *= 2) {
    CpuidBuffer buffer(capacity);
    if (::ioctl(fd_.get(), kKvmGetSupportedCpuid, buffer.data()) == 0) {
      return buffer.Entries();
    }
    if (errno != E2BIG) return ErrnoError("KVM_GET_SUPPORTED_CPUID");
  }
  return absl::ResourceExhaustedError("KVM_GET_SUPPORTED_CPUID: too many");
}

absl::StatusOr<uint64_t> Kvm::SupportedMachineCheckCapabilities() const {
  const int max_banks = CheckExtension(KVM_CAP_MCE);
  if (max_banks <= 0) {
    return absl::UnimplementedError("KVM has no KVM_CAP_MCE");
  }
  uint64_t mcg_cap = 0;
  if (::ioctl(fd_.get(), KVM_X86_GET_MCE_CAP_SUPPORTED, &mcg_cap) < 0) {
    return ErrnoError("KVM_X86_GET_MCE_CAP_SUPPORTED");
  }
  return (mcg_cap & ~uint64_t{0xFF}) | std::min(max_banks, 0xFF);
}

absl::StatusOr<std::unique_ptr<VmFd>> Kvm::CreateVm() const {
  ASSIGN_OR_RETURN(const int vm,
                   CheckSyscall(RetryOnEintr([&] {
                                  return ::ioctl(fd_.get(), KVM_CREATE_VM, 0);
                                }),
                                "KVM_CREATE_VM"));
  return VmFd::Adopt(UniqueFd(vm), vcpu_mmap_size_);
}

}  // namespace faultline::vmm
