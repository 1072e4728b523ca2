// A PCI MSI capability with one vector, a 64-bit address and per-vector
// masking; it delivers messages through irq_line.h's narrow MsiSink
// (KVM_SIGNAL_MSI in the VMM, a recorder in tests).
//
// Threading: configuration accesses come from PciFunction under the
// configuration space's lock; Signal() may be called from any thread. The
// capability has its own lock, taken last, and calls the sink with it held.
#ifndef FAULTLINE_VMM_DEVICES_PCI_MSI_H_
#define FAULTLINE_VMM_DEVICES_PCI_MSI_H_

#include <array>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "vmm/devices/irq_line.h"

namespace faultline::vmm {

class PciMsiCapability {
 public:
  // Bytes of configuration space it takes.
  static constexpr uint32_t kBytes = 24;

  // `sink` (not owned) outlives the capability.
  PciMsiCapability(uint8_t config_offset, MsiSink* sink);

  PciMsiCapability(const PciMsiCapability&) = delete;
  PciMsiCapability& operator=(const PciMsiCapability&) = delete;

  uint8_t config_offset() const { return config_offset_; }

  // Configuration space, at byte `offset` within the capability.
  uint8_t ReadByte(uint32_t offset) const;
  void WriteByte(uint32_t offset, uint8_t value);
  // Bus mastering (the command register) gates delivery, as on hardware.
  void SetBusMaster(bool enabled);

  // The device has something to say: sends the message now, or marks it
  // pending while the vector is masked; dropped while MSI is disabled.
  void Signal();

  struct Counts {
    uint64_t sent = 0;
    uint64_t held_while_masked = 0;
    uint64_t dropped_while_disabled = 0;
    uint64_t failed = 0;  // the sink refused the message
  };
  Counts counts() const;

 private:
  bool CanDeliver() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Deliver() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const uint8_t config_offset_;
  MsiSink* const sink_;
  mutable absl::Mutex mutex_;
  std::array<uint8_t, kBytes> bytes_ ABSL_GUARDED_BY(mutex_);
  bool bus_master_ ABSL_GUARDED_BY(mutex_) = false;
  Counts counts_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_PCI_MSI_H_
