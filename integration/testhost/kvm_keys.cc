// kvm_keys: holds KVM's static keys on for the test host's lifetime. Run by
// the test host's init once kvm-amd is loaded, before any command.
//
// Creating the first VM or vCPU flips static keys in the kernel
// (preempt_notifier_key, apic_sw_disabled, kvm_has_noapic_vcpu), and
// destroying the last flips them back; each flip patches kernel text with
// int3 (text_poke_bp). Under QEMU's multi-threaded TCG, the test host's
// other CPU sometimes runs stale translated code and dies on that int3
// ("Oops: int3" in __schedule) while a VMM creates its VM. Holding one VM
// with an in-kernel irqchip and a vCPU, and one without an irqchip with a
// vCPU, keeps every such key's count above zero, so VMMs never patch; the
// one flip happens here, while the test host is otherwise idle.
// Prints "kvm_keys: ready" and then waits for SIGTERM. Static, for the
// initramfs.
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace {

int Fail(const char* what) {
  std::fprintf(stderr, "kvm_keys: %s: %s\n", what, std::strerror(errno));
  return 1;
}

}  // namespace

int main() {
  const int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) return Fail("opening /dev/kvm");
  const int with_irqchip = ioctl(kvm, KVM_CREATE_VM, 0);
  if (with_irqchip < 0) return Fail("KVM_CREATE_VM");
  if (ioctl(with_irqchip, KVM_CREATE_IRQCHIP, 0) < 0) {
    return Fail("KVM_CREATE_IRQCHIP");
  }
  if (ioctl(with_irqchip, KVM_CREATE_VCPU, 0) < 0) {
    return Fail("KVM_CREATE_VCPU (irqchip)");
  }
  const int without_irqchip = ioctl(kvm, KVM_CREATE_VM, 0);
  if (without_irqchip < 0) return Fail("KVM_CREATE_VM");
  if (ioctl(without_irqchip, KVM_CREATE_VCPU, 0) < 0) {
    return Fail("KVM_CREATE_VCPU");
  }
  std::printf("kvm_keys: ready\n");
  std::fflush(stdout);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  return 0;
}
