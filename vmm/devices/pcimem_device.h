// The PCI memory device of guest_abi.h: its configuration header (IDs,
// 32-bit BAR0 of registers, 64-bit prefetchable BAR2 window, optional MSI)
// and the BAR0 register file, version 2: the version 1 registers plus the
// page events of pcimem_pages.h, fed by the fault path (window_pages.h).
// The window's memory itself is guest RAM-like memory served by the fault
// engine, not this class.
//
// Threading: every method is safe from any thread. Interrupts and requests
// to the fault path are made after the register lock is dropped.
#ifndef FAULTLINE_VMM_DEVICES_PCIMEM_DEVICE_H_
#define FAULTLINE_VMM_DEVICES_PCIMEM_DEVICE_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "vmm/devices/io_handler.h"
#include "vmm/devices/pci.h"
#include "vmm/devices/pci_msi.h"
#include "vmm/devices/pcimem_pages.h"
#include "vmm/devices/window_pages.h"

namespace faultline::vmm {

// Builds the host bridge's header (slot 0).
PciFunction MakeHostBridge();

// Builds the memory device's header for a window of `window_bytes` (a power
// of two, as BAR sizing requires), listing `msi` (may be null) as its
// capability.
PciFunction MakePciMemFunction(uint64_t window_bytes,
                               PciMsiCapability* msi = nullptr);

class PciMemRegisters : public IoHandler, public WindowPageEvents {
 public:
  // `requests` (not owned, may be null) is the fault path: without it the
  // device offers no page events. `msi` (not owned, may be null) carries
  // the event interrupt.
  explicit PciMemRegisters(uint64_t window_pages,
                           WindowPageRequests* requests = nullptr,
                           PciMsiCapability* msi = nullptr);

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

  // WindowPageEvents.
  void PageAvailable(uint64_t page) override;
  void PagePending(uint64_t page, uint8_t reason) override;
  void PageError(uint64_t page, uint8_t reason) override;
  bool BeginRevocation(uint64_t page) override;
  void PageRevoked(uint64_t page) override;

  uint64_t ignored_writes() const;
  uint64_t events_dropped() const;

 private:
  uint8_t RegisterByte(uint64_t offset) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  bool WriteRegister(uint64_t offset, absl::Span<const uint8_t> data,
                     PciMemPageEvents::Effects* effects)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void SetState(uint64_t page, uint8_t state, uint8_t reason);
  // Sends the interrupt and passes requests on; never under mutex_.
  void Apply(const PciMemPageEvents::Effects& effects)
      ABSL_LOCKS_EXCLUDED(mutex_);

  const uint64_t window_pages_;
  WindowPageRequests* const requests_;
  PciMsiCapability* const msi_;
  mutable absl::Mutex mutex_;
  uint32_t scratch_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t ignored_writes_ ABSL_GUARDED_BY(mutex_) = 0;
  PciMemPageEvents pages_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_PCIMEM_DEVICE_H_
