#include "vmm/devices/pci.h"

#include <cstring>

#include "absl/strings/str_format.h"

namespace faultline::vmm {
namespace {

constexpr uint32_t kBarDwordFirst = 4;  // header dword of BAR0 (offset 0x10)
constexpr uint32_t kBarDwordLast = 9;
constexpr uint32_t kMemoryBar64Bit = 0x4;
constexpr uint32_t kMemoryBarPrefetchable = 0x8;
constexpr uint32_t kEnableBit = 0x80000000u;
constexpr uint32_t kStatusCapabilityList = 0x10 << 16;
constexpr uint32_t kCapabilityPointerDword = 13;  // offset 0x34
constexpr uint16_t kBusMaster = 0x0004;
// Memory space, bus master, and the few bits a guest may set on a device
// without interrupts or I/O BARs.
constexpr uint16_t kWritableCommandBits =
    0x0002 | 0x0004 | 0x0040 | 0x0100 | 0x0400;

}  // namespace

PciFunction::PciFunction(const PciIdentity& identity,
                         const std::array<PciBar, 6>& bars,
                         PciMsiCapability* msi)
    : identity_(identity), bars_(bars), msi_(msi) {}

bool PciFunction::InCapability(uint32_t byte) const {
  return msi_ != nullptr && byte >= msi_->config_offset() &&
         byte < msi_->config_offset() + PciMsiCapability::kBytes;
}

uint32_t PciFunction::BarDword(uint32_t index) const {
  // The upper half of a 64-bit BAR.
  if (index > 0 && bars_[index].size == 0 && bars_[index - 1].is_64bit &&
      bars_[index - 1].size != 0) {
    const PciBar& bar = bars_[index - 1];
    return sizing_[index] ? static_cast<uint32_t>(~(bar.size - 1) >> 32)
                          : static_cast<uint32_t>(bar.address >> 32);
  }
  const PciBar& bar = bars_[index];
  if (bar.size == 0) return 0;
  const uint32_t flags = (bar.is_64bit ? kMemoryBar64Bit : 0) |
                         (bar.prefetchable ? kMemoryBarPrefetchable : 0);
  const uint64_t value = sizing_[index] ? ~(bar.size - 1) : bar.address;
  return (static_cast<uint32_t>(value) & 0xFFFFFFF0u) | flags;
}

uint32_t PciFunction::ReadDword(uint32_t dword_index) const {
  switch (dword_index) {
    case 0:
      return identity_.vendor_id |
             (static_cast<uint32_t>(identity_.device_id) << 16);
    case 1:  // status: no errors; a capability list when there is MSI
      return command_ | (msi_ != nullptr ? kStatusCapabilityList : 0);
    case 2:
      return identity_.revision | (identity_.class_code << 8);
    case 3:
      return 0;  // cache line, latency, header type 0 single-function, BIST
    case kCapabilityPointerDword:
      return msi_ != nullptr ? msi_->config_offset() : 0;
    case 15:
      return interrupt_line_;  // no interrupt pin
    default:
      if (InCapability(dword_index * 4)) {
        uint32_t value = 0;
        for (uint32_t i = 0; i < 4; ++i) {
          value |= uint32_t{msi_->ReadByte(dword_index * 4 + i -
                                           msi_->config_offset())}
                   << (8 * i);
        }
        return value;
      }
      if (dword_index >= kBarDwordFirst && dword_index <= kBarDwordLast) {
        return BarDword(dword_index - kBarDwordFirst);
      }
      return 0;
  }
}

void PciFunction::Write(uint32_t byte_offset, absl::Span<const uint8_t> data) {
  const uint32_t dword = byte_offset / 4;
  const uint64_t value = LoadLittleEndian(data);
  if (byte_offset == 0x04 && data.size() >= 2) {
    command_ = static_cast<uint16_t>(value) & kWritableCommandBits;
    if (msi_ != nullptr) msi_->SetBusMaster((command_ & kBusMaster) != 0);
  } else if (InCapability(byte_offset)) {
    for (size_t i = 0; i < data.size(); ++i) {
      if (!InCapability(byte_offset + i)) break;
      msi_->WriteByte(byte_offset + i - msi_->config_offset(), data[i]);
    }
  } else if (byte_offset == 0x3C) {
    interrupt_line_ = static_cast<uint8_t>(value);
  } else if (dword >= kBarDwordFirst && dword <= kBarDwordLast) {
    // All-ones starts sizing; any other value (a move) is ignored but ends
    // sizing so that the fixed address reads back.
    const bool all_ones = data.size() == 4 && byte_offset % 4 == 0 &&
                          static_cast<uint32_t>(value) == 0xFFFFFFFFu;
    sizing_[dword - kBarDwordFirst] = all_ones;
  }
  // Other registers are read-only here.
}

absl::Status PciConfigSpace::AddDevice(uint8_t slot, PciFunction* function) {
  absl::MutexLock lock(&mutex_);
  if (slot >= 32 || slots_.count(slot) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("PCI slot %u is taken or out of range", slot));
  }
  slots_[slot] = function;
  return absl::OkStatus();
}

PciFunction* PciConfigSpace::Selected(uint32_t* register_offset) {
  if ((address_ & kEnableBit) == 0) return nullptr;
  const uint32_t bus = (address_ >> 16) & 0xFF;
  const uint32_t slot = (address_ >> 11) & 0x1F;
  const uint32_t function = (address_ >> 8) & 0x7;
  if (bus != 0 || function != 0) return nullptr;
  auto it = slots_.find(static_cast<uint8_t>(slot));
  if (it == slots_.end()) return nullptr;
  *register_offset = address_ & 0xFC;
  return it->second;
}

void PciConfigSpace::Read(uint64_t offset, absl::Span<uint8_t> data) {
  absl::MutexLock lock(&mutex_);
  if (offset < 4) {
    uint8_t bytes[4];
    StoreLittleEndian(address_, absl::MakeSpan(bytes));
    for (size_t i = 0; i < data.size(); ++i) {
      data[i] = offset + i < 4 ? bytes[offset + i] : 0xFF;
    }
    return;
  }
  uint32_t register_offset = 0;
  PciFunction* function = Selected(&register_offset);
  if (function == nullptr) {
    std::memset(data.data(), 0xFF, data.size());
    return;
  }
  // Reads may straddle into the next dword; each byte comes from its own.
  for (size_t i = 0; i < data.size(); ++i) {
    const uint32_t byte = register_offset + (offset - 4) + i;
    if (byte >= 256) {
      data[i] = 0xFF;
      continue;
    }
    data[i] =
        static_cast<uint8_t>(function->ReadDword(byte / 4) >> (8 * (byte % 4)));
  }
}

void PciConfigSpace::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  absl::MutexLock lock(&mutex_);
  if (offset == 0 && data.size() == 4) {
    address_ = static_cast<uint32_t>(LoadLittleEndian(data));
    return;
  }
  if (offset < 4) return;  // partial address writes mean nothing here
  uint32_t register_offset = 0;
  PciFunction* function = Selected(&register_offset);
  if (function == nullptr) return;
  const uint32_t byte = register_offset + static_cast<uint32_t>(offset - 4);
  if (byte + data.size() > 256) return;
  function->Write(byte, data);
}

}  // namespace faultline::vmm
