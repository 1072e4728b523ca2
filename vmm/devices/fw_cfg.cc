#include "vmm/devices/fw_cfg.h"

namespace faultline::vmm {
namespace {

constexpr uint64_t kSelectorOffset = 0;
constexpr uint64_t kDataOffset = 1;
constexpr uint32_t kIdTraditionalInterface = 1;

std::string LittleEndian(uint64_t value, size_t bytes) {
  std::string out(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i)
    out[i] = static_cast<char>(value >> (8 * i));
  return out;
}

std::map<uint16_t, std::string> Items(uint32_t vcpu_count, uint64_t ram_bytes) {
  return {
      {FwCfg::kSignatureKey, "QEMU"},
      {FwCfg::kIdKey, LittleEndian(kIdTraditionalInterface, 4)},
      {0x02, std::string(16, '\0')},  // UUID
      {FwCfg::kRamSizeKey, LittleEndian(ram_bytes, 8)},
      {FwCfg::kCpuCountKey, LittleEndian(vcpu_count, 2)},
      {FwCfg::kMaxCpusKey, LittleEndian(vcpu_count, 2)},
      // A big-endian count of files, then the entries: none.
      {FwCfg::kFileDirectoryKey, std::string(4, '\0')},
  };
}

}  // namespace

FwCfg::FwCfg(uint32_t vcpu_count, uint64_t ram_bytes)
    : items_(Items(vcpu_count, ram_bytes)) {}

void FwCfg::Read(uint64_t offset, absl::Span<uint8_t> data) {
  absl::MutexLock lock(&mutex_);
  if (offset != kDataOffset) {
    StoreLittleEndian(~uint64_t{0}, data);  // the selector is write-only
    return;
  }
  auto item = items_.find(selected_);
  for (uint8_t& byte : data) {
    if (item == items_.end() || position_ >= item->second.size()) {
      byte = 0;
    } else {
      byte = static_cast<uint8_t>(item->second[position_]);
    }
    ++position_;
  }
}

void FwCfg::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  if (offset != kSelectorOffset) return;  // data writes: ignored, as QEMU
  absl::MutexLock lock(&mutex_);
  selected_ = static_cast<uint16_t>(LoadLittleEndian(data));
  position_ = 0;
}

}  // namespace faultline::vmm
