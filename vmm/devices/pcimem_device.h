// The PCI memory device of guest_abi.h: its configuration header (IDs,
// 32-bit BAR0 of registers, 64-bit prefetchable BAR2 window) and the BAR0
// register file. The window's memory itself is guest RAM-like memory served
// by the fault engine, not this class.
//
// Threading: the register handler is safe from any vCPU thread.
#ifndef FAULTLINE_VMM_DEVICES_PCIMEM_DEVICE_H_
#define FAULTLINE_VMM_DEVICES_PCIMEM_DEVICE_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "vmm/devices/io_handler.h"
#include "vmm/devices/pci.h"

namespace faultline::vmm {

// Builds the host bridge's header (slot 0).
PciFunction MakeHostBridge();

// Builds the memory device's header for a window of `window_bytes` (a power
// of two, as BAR sizing requires).
PciFunction MakePciMemFunction(uint64_t window_bytes);

class PciMemRegisters : public IoHandler {
 public:
  explicit PciMemRegisters(uint64_t window_pages)
      : window_pages_(window_pages) {}

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

  uint64_t ignored_writes() const;

 private:
  uint8_t RegisterByte(uint64_t offset) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const uint64_t window_pages_;
  mutable absl::Mutex mutex_;
  uint32_t scratch_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t ignored_writes_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_PCIMEM_DEVICE_H_
