#include "vmm/devices/pci_msi.h"

#include <cstdio>
#include <string>

namespace faultline::vmm {
namespace {

// The capability's layout with a 64-bit address and per-vector masking
// (PCI Local Bus 3.0, 6.8.1).
constexpr uint32_t kControlLow = 2;   // bit 0 enable, bit 7 64-bit capable
constexpr uint32_t kControlHigh = 3;  // bit 0 (control bit 8): masking capable
constexpr uint32_t kAddressLow = 4;
constexpr uint32_t kAddressHigh = 8;
constexpr uint32_t kData = 12;
constexpr uint32_t kMaskBits = 16;
constexpr uint32_t kPendingBits = 20;
constexpr uint8_t kMsiCapabilityId = 0x05;
constexpr uint8_t kEnable = 0x01;
constexpr uint8_t k64BitCapable = 0x80;
constexpr uint8_t kMaskingCapable = 0x01;

// Which bits of each byte the guest may write. Multiple Message Enable stays
// 0: there is one vector.
constexpr std::array<uint8_t, PciMsiCapability::kBytes> kWritable = {
    0,    0,    kEnable, 0,     // id, next, control
    0xFC, 0xFF, 0xFF,    0xFF,  // address, dword aligned
    0xFF, 0xFF, 0xFF,    0xFF,  // upper address
    0xFF, 0xFF, 0,       0,     // data, reserved
    0x01, 0,    0,       0,     // mask bits: vector 0
    0,    0,    0,       0,     // pending bits: read-only
};

uint32_t Dword(const std::array<uint8_t, PciMsiCapability::kBytes>& bytes,
               uint32_t at) {
  return bytes[at] | (uint32_t{bytes[at + 1]} << 8) |
         (uint32_t{bytes[at + 2]} << 16) | (uint32_t{bytes[at + 3]} << 24);
}

}  // namespace

PciMsiCapability::PciMsiCapability(uint8_t config_offset, MsiSink* sink)
    : config_offset_(config_offset), sink_(sink) {
  bytes_.fill(0);
  bytes_[0] = kMsiCapabilityId;
  bytes_[kControlLow] = k64BitCapable;
  bytes_[kControlHigh] = kMaskingCapable;
}

uint8_t PciMsiCapability::ReadByte(uint32_t offset) const {
  absl::MutexLock lock(&mutex_);
  return offset < kBytes ? bytes_[offset] : 0;
}

void PciMsiCapability::WriteByte(uint32_t offset, uint8_t value) {
  absl::MutexLock lock(&mutex_);
  if (offset >= kBytes) return;
  bytes_[offset] =
      (bytes_[offset] & ~kWritable[offset]) | (value & kWritable[offset]);
  // Enabling or unmasking sends what was held.
  if (bytes_[kPendingBits] != 0 && CanDeliver()) Deliver();
}

void PciMsiCapability::SetBusMaster(bool enabled) {
  absl::MutexLock lock(&mutex_);
  bus_master_ = enabled;
  if (bytes_[kPendingBits] != 0 && CanDeliver()) Deliver();
}

bool PciMsiCapability::CanDeliver() const {
  return (bytes_[kControlLow] & kEnable) != 0 && bus_master_ &&
         (bytes_[kMaskBits] & 1) == 0;
}

void PciMsiCapability::Signal() {
  absl::MutexLock lock(&mutex_);
  if ((bytes_[kControlLow] & kEnable) == 0 || !bus_master_) {
    ++counts_.dropped_while_disabled;
  } else if ((bytes_[kMaskBits] & 1) != 0) {
    bytes_[kPendingBits] = 1;
    ++counts_.held_while_masked;
  } else {
    Deliver();
  }
}

void PciMsiCapability::Deliver() {
  bytes_[kPendingBits] = 0;
  const uint64_t address = Dword(bytes_, kAddressLow) |
                           (uint64_t{Dword(bytes_, kAddressHigh)} << 32);
  const uint32_t data = bytes_[kData] | (uint32_t{bytes_[kData + 1]} << 8);
  if (absl::Status sent = sink_->SignalMsi(address, data); !sent.ok()) {
    // A guest can program any address; say so once, not per message.
    if (counts_.failed++ == 0) {
      std::fprintf(stderr, "vmm: MSI to %#llx data %#x not delivered: %s\n",
                   static_cast<unsigned long long>(address), data,
                   std::string(sent.message()).c_str());
    }
    return;
  }
  ++counts_.sent;
}

PciMsiCapability::Counts PciMsiCapability::counts() const {
  absl::MutexLock lock(&mutex_);
  return counts_;
}

}  // namespace faultline::vmm
