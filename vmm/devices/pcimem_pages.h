// The version 2 registers of the PCI memory device (guest_abi.h): a state
// per window page, the event ring with STATUS and CONTROL, and the PREPARE
// and REVOKE_ACK doorbells. Pure bookkeeping: it returns what must happen
// (an interrupt, requests for the fault path) and the caller does it.
//
// Threading: not thread-safe; PciMemRegisters serialises every call.
#ifndef FAULTLINE_VMM_DEVICES_PCIMEM_PAGES_H_
#define FAULTLINE_VMM_DEVICES_PCIMEM_PAGES_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "proto/guest_abi.h"

namespace faultline::vmm {

class PciMemPageEvents {
 public:
  // What a call asks the caller to do once it has dropped its lock.
  struct Effects {
    bool interrupt = false;              // signal the device's MSI
    std::vector<uint64_t> prepare;       // pages to ask the broker for
    std::vector<uint64_t> acknowledged;  // revocations the guest let go
  };

  // `offered`: the fault path is attached, so FEATURES says page events;
  // otherwise every version 2 register reads 0 and ignores writes.
  PciMemPageEvents(uint64_t window_pages, bool offered);

  // Guest side. A version 2 register (kPciMemRegFeatures up to, not
  // including, kPciMemRegIgnoredWrites) by its aligned offset.
  uint32_t Read32(uint32_t offset) const;
  uint64_t RingEntry(uint32_t index) const;
  // An aligned 32-bit write; false when the device ignores it.
  bool Write32(uint32_t offset, uint32_t value, Effects* effects);

  // Fault-path side (window_pages.h); pages outside the window are ignored.
  // An event is appended when the state changes, and for every PENDING
  // report, so that each retry answer of the broker reaches the guest.
  void SetState(uint64_t page, uint8_t state, uint8_t reason, Effects* effects);
  bool BeginRevocation(uint64_t page, Effects* effects);

  uint64_t events_dropped() const { return events_dropped_; }

 private:
  void Append(uint32_t page, uint32_t state_value, Effects* effects);
  bool Prepare(uint32_t page, Effects* effects);
  void SetControl(uint32_t value, Effects* effects);

  const uint64_t window_pages_;
  const bool offered_;
  // Per page: state | reason << 8.
  std::vector<uint16_t> states_;
  absl::flat_hash_set<uint32_t> revoking_;  // waiting for REVOKE_ACK
  bool events_on_ = false;
  uint32_t status_ = 0;
  uint32_t state_select_ = 0;
  uint32_t head_ = 0;
  uint32_t tail_ = 0;
  std::array<uint64_t, guest_abi::kPciMemEventRingEntries> ring_ = {};
  uint64_t events_dropped_ = 0;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_PCIMEM_PAGES_H_
