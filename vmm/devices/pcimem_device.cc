#include "vmm/devices/pcimem_device.h"

#include "proto/guest_abi.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

constexpr uint32_t kClassHostBridge = 0x060000;
constexpr uint32_t kClassOtherMemoryController = 0x058000;

}  // namespace

PciFunction MakeHostBridge() {
  return PciFunction(
      {abi::kHostBridgeVendorId, abi::kHostBridgeDeviceId, kClassHostBridge, 0},
      {});
}

PciFunction MakePciMemFunction(uint64_t window_bytes) {
  std::array<PciBar, 6> bars = {};
  bars[abi::kPciMemRegistersBar] = {abi::kPciMemRegistersBarAddress,
                                    abi::kPciMemRegistersBarBytes, false,
                                    false};
  bars[abi::kPciMemWindowBar] = {abi::kPciMemWindowBarAddress, window_bytes,
                                 true, true};
  return PciFunction({abi::kPciMemVendorId, abi::kPciMemDeviceId,
                      kClassOtherMemoryController, 1},
                     bars);
}

uint8_t PciMemRegisters::RegisterByte(uint64_t offset) const {
  uint64_t value = 0;
  uint64_t base = offset & ~uint64_t{3};
  switch (base) {
    case abi::kPciMemRegMagic:
      value = abi::kPciMemMagic;
      break;
    case abi::kPciMemRegVersion:
      value = 1;
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
    default:
      return 0;
  }
  return static_cast<uint8_t>(value >> (8 * (offset - base)));
}

void PciMemRegisters::Read(uint64_t offset, absl::Span<uint8_t> data) {
  absl::MutexLock lock(&mutex_);
  for (size_t i = 0; i < data.size(); ++i) data[i] = RegisterByte(offset + i);
}

void PciMemRegisters::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  absl::MutexLock lock(&mutex_);
  bool ignored = false;
  for (size_t i = 0; i < data.size(); ++i) {
    const uint64_t byte = offset + i;
    if (byte >= abi::kPciMemRegScratch && byte < abi::kPciMemRegScratch + 4) {
      const int shift = 8 * static_cast<int>(byte - abi::kPciMemRegScratch);
      scratch_ = (scratch_ & ~(0xFFu << shift)) |
                 (static_cast<uint32_t>(data[i]) << shift);
    } else {
      ignored = true;
    }
  }
  if (ignored) ++ignored_writes_;
}

uint64_t PciMemRegisters::ignored_writes() const {
  absl::MutexLock lock(&mutex_);
  return ignored_writes_;
}

}  // namespace faultline::vmm
