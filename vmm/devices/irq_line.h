// Interrupts from devices to the guest, through one narrow interface so that
// devices stay testable without KVM. An IrqSink sets the level of a guest
// interrupt line (a GSI: ISA IRQ n is GSI n on the in-kernel PIC and IOAPIC);
// KVM's KVM_IRQ_LINE implements it (vmm/kvm/irqchip.h), tests record levels.
// An IrqLine is one device's line: it forwards level changes only, so an
// edge-triggered ISA interrupt gets exactly one rising edge per assertion.
// An MsiSink delivers a PCI device's message-signalled interrupt
// (KVM_SIGNAL_MSI in the VMM; pci_msi.h's capability decides when).
//
// Threading: IrqSink::SetIrqLevel may be called from any thread. IrqLine is
// safe from any thread; a device that drives it under its own lock keeps the
// order of its level changes.
#ifndef FAULTLINE_VMM_DEVICES_IRQ_LINE_H_
#define FAULTLINE_VMM_DEVICES_IRQ_LINE_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace faultline::vmm {

class IrqSink {
 public:
  virtual ~IrqSink() = default;
  virtual void SetIrqLevel(uint32_t gsi, bool level) = 0;
};

class MsiSink {
 public:
  virtual ~MsiSink() = default;
  // Delivers one message. Must not block for long or call back into a
  // device.
  virtual absl::Status SignalMsi(uint64_t address, uint32_t data) = 0;
};

class IrqLine {
 public:
  // `sink` (not owned) may be null: a device without an interrupt line.
  IrqLine(IrqSink* sink, uint32_t gsi) : sink_(sink), gsi_(gsi) {}

  IrqLine(const IrqLine&) = delete;
  IrqLine& operator=(const IrqLine&) = delete;

  void Set(bool level) {
    absl::MutexLock lock(&mutex_);
    if (sink_ == nullptr || level == level_) return;
    level_ = level;
    sink_->SetIrqLevel(gsi_, level);
  }

  bool level() const {
    absl::MutexLock lock(&mutex_);
    return level_;
  }
  uint32_t gsi() const { return gsi_; }

 private:
  IrqSink* const sink_;
  const uint32_t gsi_;
  mutable absl::Mutex mutex_;
  bool level_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_IRQ_LINE_H_
