// The two directions between the PCI memory device and the VMM's fault
// path, for the pages of the device window (page = window offset / 4096;
// states and reasons are guest_abi.h's kPciMemPage* and kPciMemReason*).
// The device tells the guest; the fault path asks the broker.
//
// Threading: both sides may be called from any thread. Neither blocks, and
// neither calls the other back from inside a call, so each side may hold its
// own locks while calling.
#ifndef FAULTLINE_VMM_DEVICES_WINDOW_PAGES_H_
#define FAULTLINE_VMM_DEVICES_WINDOW_PAGES_H_

#include <cstdint>

namespace faultline::vmm {

// What the fault path reports about window pages; the device turns it into
// page states, events and interrupts. Pages outside the window are ignored.
class WindowPageEvents {
 public:
  virtual ~WindowPageEvents() = default;
  // A frame is mapped at the page.
  virtual void PageAvailable(uint64_t page) = 0;
  // The broker has no frame for it yet (a retry reason, ASKED or
  // BROKER_UNREACHABLE); the fault path keeps asking.
  virtual void PagePending(uint64_t page, uint8_t reason) = 0;
  // Asking ended in an error (an error kind, TIMED_OUT or HOST_FAILURE).
  virtual void PageError(uint64_t page, uint8_t reason) = 0;
  // The broker takes the page's frame back. True: the guest may have mapped
  // it, so the fault path keeps the frame until the device reports the
  // guest's acknowledgement (WindowPageRequests) or its own wait ends.
  // False: unmap now. Either way, PageRevoked() follows the unmap.
  virtual bool BeginRevocation(uint64_t page) = 0;
  virtual void PageRevoked(uint64_t page) = 0;
};

// What the guest asks of the fault path through the device. Called on the
// vCPU thread that wrote the register, without the device's lock.
class WindowPageRequests {
 public:
  virtual ~WindowPageRequests() = default;
  // Get the page a frame: ask the broker with no vCPU waiting, then report
  // the outcome through WindowPageEvents.
  virtual void PreparePage(uint64_t page) = 0;
  // The guest has dropped its mappings of a page in revocation.
  virtual void RevocationAcknowledged(uint64_t page) = 0;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_WINDOW_PAGES_H_
