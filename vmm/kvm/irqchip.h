// The in-kernel interrupt controllers of a VM (PIC, IOAPIC, local APICs and
// the PIT), and the IrqSink that devices raise their lines through
// (KVM_IRQ_LINE) and the MsiSink their MSIs go through (KVM_SIGNAL_MSI).
// Kernel guests need them; payloads run without.
//
// Threading: SetIrqLevel and SignalMsi may be called from any thread; the VmFd
// (not owned) outlives this object.
#ifndef FAULTLINE_VMM_KVM_IRQCHIP_H_
#define FAULTLINE_VMM_KVM_IRQCHIP_H_

#include <atomic>
#include <memory>

#include "absl/status/statusor.h"
#include "vmm/devices/irq_line.h"
#include "vmm/kvm/vm_fd.h"

namespace faultline::vmm {

class KvmIrqchip : public IrqSink, public MsiSink {
 public:
  // Creates the irqchip and the PIT on `vm`, before any vCPU.
  static absl::StatusOr<std::unique_ptr<KvmIrqchip>> Create(VmFd* vm);

  KvmIrqchip(const KvmIrqchip&) = delete;
  KvmIrqchip& operator=(const KvmIrqchip&) = delete;

  // A failed KVM_IRQ_LINE is logged (first time only) and counted: a lost
  // interrupt is not worth stopping the VM over.
  void SetIrqLevel(uint32_t gsi, bool level) override;
  // A failed KVM_SIGNAL_MSI is counted and returned (the MSI capability
  // counts it too).
  absl::Status SignalMsi(uint64_t address, uint32_t data) override;

  uint64_t failures() const { return failures_.load(); }

 private:
  explicit KvmIrqchip(VmFd* vm) : vm_(vm) {}

  VmFd* const vm_;
  std::atomic<uint64_t> failures_{0};
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_KVM_IRQCHIP_H_
