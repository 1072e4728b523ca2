#include "vmm/devices/pcimem_pages.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

constexpr uint32_t kStatusBits =
    abi::kPciMemStatusEvents | abi::kPciMemStatusOverflow;

uint8_t StateOf(uint16_t value) { return static_cast<uint8_t>(value); }

}  // namespace

PciMemPageEvents::PciMemPageEvents(uint64_t window_pages, bool offered)
    : window_pages_(window_pages),
      offered_(offered),
      states_(window_pages, abi::PciMemPageStateValue(abi::kPciMemPageAbsent,
                                                      abi::kPciMemReasonNone)) {
}

uint32_t PciMemPageEvents::Read32(uint32_t offset) const {
  if (!offered_) return 0;
  switch (offset) {
    case abi::kPciMemRegFeatures:
      return abi::kPciMemFeaturePageEvents;
    case abi::kPciMemRegControl:
      return events_on_ ? abi::kPciMemControlEvents : 0;
    case abi::kPciMemRegStatus:
      return status_;
    case abi::kPciMemRegStateSelect:
      return state_select_;
    case abi::kPciMemRegState:
      return state_select_ < window_pages_ ? states_[state_select_]
                                           : 0xFFFFFFFFu;
    case abi::kPciMemRegEventHead:
      return head_;
    case abi::kPciMemRegEventTail:
      return tail_;
    case abi::kPciMemRegEventRingEntries:
      return abi::kPciMemEventRingEntries;
    default:
      return 0;  // PREPARE and REVOKE_ACK are write-only
  }
}

uint64_t PciMemPageEvents::RingEntry(uint32_t index) const {
  return offered_ && index < ring_.size() ? ring_[index] : 0;
}

bool PciMemPageEvents::Write32(uint32_t offset, uint32_t value,
                               Effects* effects) {
  if (!offered_) return false;
  switch (offset) {
    case abi::kPciMemRegControl:
      if ((value & ~abi::kPciMemControlEvents) != 0) return false;
      SetControl(value, effects);
      return true;
    case abi::kPciMemRegStatus:
      if ((value & ~kStatusBits) != 0) return false;
      status_ &= ~value;
      return true;
    case abi::kPciMemRegPrepare:
      return Prepare(value, effects);
    case abi::kPciMemRegRevokeAck:
      if (revoking_.erase(value) == 0) return false;
      effects->acknowledged.push_back(value);
      return true;
    case abi::kPciMemRegStateSelect:
      state_select_ = value;
      return true;
    case abi::kPciMemRegEventTail:
      // Only forward, and never past HEAD (unsigned arithmetic wraps).
      if (value - tail_ > head_ - tail_) return false;
      tail_ = value;
      return true;
    default:
      return false;  // read-only or unknown
  }
}

void PciMemPageEvents::SetControl(uint32_t value, Effects* effects) {
  const bool on = (value & abi::kPciMemControlEvents) != 0;
  if (on && !events_on_) {
    head_ = tail_ = 0;
    status_ = 0;
  } else if (!on && events_on_) {
    // Nobody is left to acknowledge: let every revocation go through.
    for (uint32_t page : revoking_) effects->acknowledged.push_back(page);
    revoking_.clear();
  }
  events_on_ = on;
}

bool PciMemPageEvents::Prepare(uint32_t page, Effects* effects) {
  if (!events_on_ || page >= window_pages_) return false;
  switch (StateOf(states_[page])) {
    case abi::kPciMemPageAvailable:
      Append(page, states_[page], effects);  // the guest's view was stale
      break;
    case abi::kPciMemPagePending:
    case abi::kPciMemPageRevoking:
      break;  // an event follows anyway
    default:
      SetState(page, abi::kPciMemPagePending, abi::kPciMemReasonAsked, effects);
      effects->prepare.push_back(page);
  }
  return true;
}

void PciMemPageEvents::SetState(uint64_t page, uint8_t state, uint8_t reason,
                                Effects* effects) {
  if (page >= window_pages_) return;
  const auto index = static_cast<uint32_t>(page);
  if (state != abi::kPciMemPageRevoking) revoking_.erase(index);
  const auto value =
      static_cast<uint16_t>(abi::PciMemPageStateValue(state, reason));
  if (states_[index] == value && state != abi::kPciMemPagePending) return;
  states_[index] = value;
  Append(index, value, effects);
}

bool PciMemPageEvents::BeginRevocation(uint64_t page, Effects* effects) {
  // Only a page the guest can have mapped needs its acknowledgement.
  if (!events_on_ || page >= window_pages_ ||
      StateOf(states_[page]) != abi::kPciMemPageAvailable) {
    return false;
  }
  SetState(page, abi::kPciMemPageRevoking, abi::kPciMemReasonNone, effects);
  revoking_.insert(static_cast<uint32_t>(page));
  return true;
}

void PciMemPageEvents::Append(uint32_t page, uint32_t state_value,
                              Effects* effects) {
  if (!events_on_) return;
  if (head_ - tail_ >= ring_.size()) {
    status_ |= abi::kPciMemStatusOverflow;
    ++events_dropped_;
  } else {
    ring_[head_ % ring_.size()] =
        page | (static_cast<uint64_t>(state_value) << 32);
    ++head_;
  }
  if ((status_ & abi::kPciMemStatusEvents) == 0) {
    status_ |= abi::kPciMemStatusEvents;
    effects->interrupt = true;
  }
}

}  // namespace faultline::vmm
