#include "vmm/devices/pcimem_device.h"

#include <algorithm>

#include "proto/guest_abi.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

constexpr uint32_t kClassHostBridge = 0x060000;
constexpr uint32_t kClassOtherMemoryController = 0x058000;

bool IsVersion2Register(uint64_t offset) {
  return offset >= abi::kPciMemRegFeatures &&
         offset < abi::kPciMemRegIgnoredWrites;
}

bool IsRing(uint64_t offset) {
  return offset >= abi::kPciMemEventRing &&
         offset < abi::kPciMemEventRing + 8 * abi::kPciMemEventRingEntries;
}

}  // namespace

PciFunction MakeHostBridge() {
  return PciFunction(
      {abi::kHostBridgeVendorId, abi::kHostBridgeDeviceId, kClassHostBridge, 0},
      {});
}

PciFunction MakePciMemFunction(uint64_t window_bytes, PciMsiCapability* msi) {
  std::array<PciBar, 6> bars = {};
  bars[abi::kPciMemRegistersBar] = {abi::kPciMemRegistersBarAddress,
                                    abi::kPciMemRegistersBarBytes, false,
                                    false};
  bars[abi::kPciMemWindowBar] = {abi::kPciMemWindowBarAddress, window_bytes,
                                 true, true};
  return PciFunction({abi::kPciMemVendorId, abi::kPciMemDeviceId,
                      kClassOtherMemoryController, 1},
                     bars, msi);
}

PciMemRegisters::PciMemRegisters(uint64_t window_pages,
                                 WindowPageRequests* requests,
                                 PciMsiCapability* msi)
    : window_pages_(window_pages),
      requests_(requests),
      msi_(msi),
      pages_(window_pages, requests != nullptr) {}

uint8_t PciMemRegisters::RegisterByte(uint64_t offset) const {
  uint64_t value = 0;
  uint64_t base = offset & ~uint64_t{3};
  if (IsRing(offset)) {
    base = offset & ~uint64_t{7};
    value = pages_.RingEntry(
        static_cast<uint32_t>((base - abi::kPciMemEventRing) / 8));
  } else if (IsVersion2Register(offset)) {
    value = pages_.Read32(static_cast<uint32_t>(base));
  } else {
    switch (base) {
      case abi::kPciMemRegMagic:
        value = abi::kPciMemMagic;
        break;
      case abi::kPciMemRegVersion:
        value = abi::kPciMemRegisterVersion;
        break;
      case abi::kPciMemRegFrameBytes:
        value = abi::kPageBytes;
        break;
      case abi::kPciMemRegFrameCount:
        value = window_pages_ & 0xFFFFFFFF;
        break;
      case abi::kPciMemRegFrameCount + 4:
        value = window_pages_ >> 32;
        break;
      case abi::kPciMemRegScratch:
        value = scratch_;
        break;
      case abi::kPciMemRegIgnoredWrites:
        value = std::min<uint64_t>(ignored_writes_, 0xFFFFFFFFu);
        break;
      default:
        return 0;
    }
  }
  return static_cast<uint8_t>(value >> (8 * (offset - base)));
}

void PciMemRegisters::Read(uint64_t offset, absl::Span<uint8_t> data) {
  absl::MutexLock lock(&mutex_);
  for (size_t i = 0; i < data.size(); ++i) data[i] = RegisterByte(offset + i);
}

bool PciMemRegisters::WriteRegister(uint64_t offset,
                                    absl::Span<const uint8_t> data,
                                    PciMemPageEvents::Effects* effects) {
  if (IsVersion2Register(offset)) {
    if (data.size() != 4 || offset % 4 != 0) return false;
    return pages_.Write32(static_cast<uint32_t>(offset),
                          static_cast<uint32_t>(LoadLittleEndian(data)),
                          effects);
  }
  bool accepted = true;
  for (size_t i = 0; i < data.size(); ++i) {
    const uint64_t byte = offset + i;
    if (byte >= abi::kPciMemRegScratch && byte < abi::kPciMemRegScratch + 4) {
      const int shift = 8 * static_cast<int>(byte - abi::kPciMemRegScratch);
      scratch_ = (scratch_ & ~(0xFFu << shift)) |
                 (static_cast<uint32_t>(data[i]) << shift);
    } else {
      accepted = false;
    }
  }
  return accepted;
}

void PciMemRegisters::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  PciMemPageEvents::Effects effects;
  {
    absl::MutexLock lock(&mutex_);
    if (!WriteRegister(offset, data, &effects)) ++ignored_writes_;
  }
  Apply(effects);
}

void PciMemRegisters::Apply(const PciMemPageEvents::Effects& effects) {
  if (effects.interrupt && msi_ != nullptr) msi_->Signal();
  if (requests_ == nullptr) return;
  for (uint64_t page : effects.prepare) requests_->PreparePage(page);
  for (uint64_t page : effects.acknowledged) {
    requests_->RevocationAcknowledged(page);
  }
}

void PciMemRegisters::SetState(uint64_t page, uint8_t state, uint8_t reason) {
  PciMemPageEvents::Effects effects;
  {
    absl::MutexLock lock(&mutex_);
    pages_.SetState(page, state, reason, &effects);
  }
  Apply(effects);
}

void PciMemRegisters::PageAvailable(uint64_t page) {
  SetState(page, abi::kPciMemPageAvailable, abi::kPciMemReasonNone);
}

void PciMemRegisters::PagePending(uint64_t page, uint8_t reason) {
  SetState(page, abi::kPciMemPagePending, reason);
}

void PciMemRegisters::PageError(uint64_t page, uint8_t reason) {
  SetState(page, abi::kPciMemPageError, reason);
}

void PciMemRegisters::PageRevoked(uint64_t page) {
  SetState(page, abi::kPciMemPageRevoked, abi::kPciMemReasonNone);
}

bool PciMemRegisters::BeginRevocation(uint64_t page) {
  PciMemPageEvents::Effects effects;
  bool wait;
  {
    absl::MutexLock lock(&mutex_);
    wait = pages_.BeginRevocation(page, &effects);
  }
  Apply(effects);
  return wait;
}

uint64_t PciMemRegisters::ignored_writes() const {
  absl::MutexLock lock(&mutex_);
  return ignored_writes_;
}

uint64_t PciMemRegisters::events_dropped() const {
  absl::MutexLock lock(&mutex_);
  return pages_.events_dropped();
}

}  // namespace faultline::vmm
