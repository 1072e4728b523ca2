// QEMU's firmware configuration device, the traditional I/O interface:
// selector at port 0x510 (a 16-bit write picks an item and rewinds it) and
// data at 0x511 (each byte read returns the next byte of the item). It
// answers what test kernels written for `qemu -kernel` read: the signature
// "QEMU" (key 0x00), the interface ID (0x01: traditional, no DMA), a zero
// UUID (0x02), the RAM size (0x03), the CPU count (0x05, FW_CFG_NB_CPUS)
// and the most CPUs (0x0F), and an empty file directory (0x19). Other
// keys read as zeros, as in QEMU; writes are ignored.
//
// Threading: safe from any vCPU thread (one lock).
#ifndef FAULTLINE_VMM_DEVICES_FW_CFG_H_
#define FAULTLINE_VMM_DEVICES_FW_CFG_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "vmm/devices/io_handler.h"

namespace faultline::vmm {

class FwCfg : public IoHandler {
 public:
  static constexpr uint16_t kBasePort = 0x510;
  static constexpr uint64_t kPortCount = 2;
  static constexpr uint16_t kSignatureKey = 0x00;
  static constexpr uint16_t kIdKey = 0x01;
  static constexpr uint16_t kRamSizeKey = 0x03;
  static constexpr uint16_t kCpuCountKey = 0x05;
  static constexpr uint16_t kMaxCpusKey = 0x0F;
  static constexpr uint16_t kFileDirectoryKey = 0x19;

  FwCfg(uint32_t vcpu_count, uint64_t ram_bytes);

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

 private:
  const std::map<uint16_t, std::string> items_;
  absl::Mutex mutex_;
  uint16_t selected_ ABSL_GUARDED_BY(mutex_) = kSignatureKey;
  size_t position_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_FW_CFG_H_
