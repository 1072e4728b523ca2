// PCI configuration space through ports 0xCF8 (address) and 0xCFC (data),
// bus 0 only, one function per device, and a type-0 header with fixed BARs
// and at most one capability, MSI. BAR sizing (write all-ones, read the size
// mask) is supported; moving a BAR is not, and such writes are ignored
// (guest_abi.h).
//
// Threading: safe from any vCPU thread (one lock for the whole space).
#ifndef FAULTLINE_VMM_DEVICES_PCI_H_
#define FAULTLINE_VMM_DEVICES_PCI_H_

#include <array>
#include <cstdint>
#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "vmm/devices/io_handler.h"
#include "vmm/devices/pci_msi.h"

namespace faultline::vmm {

struct PciBar {
  uint64_t address = 0;
  uint64_t size = 0;  // 0: no BAR; otherwise a power of two
  bool is_64bit = false;
  bool prefetchable = false;
};

struct PciIdentity {
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  uint32_t class_code = 0;  // base class, subclass, programming interface
  uint8_t revision = 0;
};

// One function's configuration header. Not thread-safe on its own: the
// PciConfigSpace that owns the slot serialises access.
class PciFunction {
 public:
  // `bars` index the six BAR dwords; a 64-bit BAR takes the next index too.
  // `msi` (not owned, may be null) is listed as the only capability.
  PciFunction(const PciIdentity& identity, const std::array<PciBar, 6>& bars,
              PciMsiCapability* msi = nullptr);

  uint32_t ReadDword(uint32_t dword_index) const;
  // `byte_offset` within the 256-byte header; data of 1, 2 or 4 bytes.
  void Write(uint32_t byte_offset, absl::Span<const uint8_t> data);

  uint16_t command() const { return command_; }

 private:
  uint32_t BarDword(uint32_t index) const;
  bool InCapability(uint32_t byte) const;

  const PciIdentity identity_;
  const std::array<PciBar, 6> bars_;
  PciMsiCapability* const msi_;
  std::array<bool, 6> sizing_ = {};
  uint16_t command_ = 0;
  uint8_t interrupt_line_ = 0;
};

class PciConfigSpace : public IoHandler {
 public:
  // Ports 0xCF8..0xCFF.
  static constexpr uint64_t kPortCount = 8;

  // Puts `function` (not owned) at bus 0, `slot`.
  absl::Status AddDevice(uint8_t slot, PciFunction* function);

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

 private:
  // The addressed function and byte offset, or nullptr when nothing answers.
  PciFunction* Selected(uint32_t* register_offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  absl::Mutex mutex_;
  uint32_t address_ ABSL_GUARDED_BY(mutex_) = 0;
  std::map<uint8_t, PciFunction*> slots_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_PCI_H_
