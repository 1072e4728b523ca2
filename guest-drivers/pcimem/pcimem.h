// The PCI memory device driver for payloads: finds the device, checks its
// registers, and gives access to the device memory window one frame (BAR
// page) at a time. Each access is a real load or store to the window, so a
// first touch of a page faults through the VMM to the broker.
#ifndef FAULTLINE_GUEST_DRIVERS_PCIMEM_PCIMEM_H_
#define FAULTLINE_GUEST_DRIVERS_PCIMEM_PCIMEM_H_

#include <stdint.h>

#include "guest-drivers/pcimem/config_space.h"
#include "guest-drivers/pcimem/registers.h"
#include "guest-drivers/runtime/format.h"

namespace faultline::guest {

// Configuration space through ports 0xCF8/0xCFC, bus 0.
class PortConfigAccess final : public PciConfigAccess {
 public:
  uint32_t Read32(uint8_t slot, uint8_t function, uint8_t offset) override;
  void Write32(uint8_t slot, uint8_t function, uint8_t offset,
               uint32_t value) override;
};

class PciMem {
 public:
  static constexpr uint64_t kWordsPerFrame = 512;

  constexpr PciMem() = default;

  // Probes and checks the device. False with `error` set if it is absent or
  // malformed; the object is then unusable.
  bool Open(ErrorMessage* error);

  const PciMemLocation& location() const { return location_; }
  uint64_t frame_count() const { return frame_count_; }

  // `frame` < frame_count(), `word` < kWordsPerFrame (not checked: hot path).
  volatile uint64_t* Frame(uint64_t frame) const {
    return reinterpret_cast<volatile uint64_t*>(location_.window_base +
                                                frame * kWordsPerFrame * 8);
  }
  uint64_t ReadWord(uint64_t frame, uint64_t word) const {
    return Frame(frame)[word];
  }
  void WriteWord(uint64_t frame, uint64_t word, uint64_t value) const {
    Frame(frame)[word] = value;
  }

  void WriteSignature(uint64_t frame) const {
    WriteWord(frame, kFrameSignatureWord, FrameSignature(frame));
  }
  bool HasSignature(uint64_t frame) const {
    return ReadWord(frame, kFrameSignatureWord) == FrameSignature(frame);
  }

 private:
  PciMemLocation location_;
  uint64_t frame_count_ = 0;
};

}  // namespace faultline::guest

#endif  // FAULTLINE_GUEST_DRIVERS_PCIMEM_PCIMEM_H_
