// Proves that /dev/kvm works where it runs: the API version is 12 and a VM
// with one vCPU can be created. Exit 0 when it can, 1 when not.
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace {

int Fail(const char* what) {
  std::fprintf(stderr, "kvm_probe: %s: %s\n", what, std::strerror(errno));
  return 1;
}

}  // namespace

int main() {
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) return Fail("opening /dev/kvm");
  int version = ioctl(kvm, KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    std::fprintf(stderr, "kvm_probe: KVM_GET_API_VERSION is %d, want %d\n",
                 version, KVM_API_VERSION);
    return 1;
  }
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) return Fail("KVM_CREATE_VM");
  int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  if (vcpu < 0) return Fail("KVM_CREATE_VCPU");
  close(vcpu);
  close(vm);
  close(kvm);
  std::printf("kvm_probe: ok (API version %d, VM and vCPU created)\n", version);
  return 0;
}
