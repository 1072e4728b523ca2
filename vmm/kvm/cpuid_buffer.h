// The kvm_cpuid2 wire layout, spelled out. Debian's 6.1 uapi headers declare
// kvm_cpuid2's flexible array with __DECLARE_FLEX_ARRAY, which is 4 bytes
// larger in C++ than in C; that changes the size encoded in
// KVM_GET_SUPPORTED_CPUID / KVM_SET_CPUID2, and the kernel rejects those
// numbers with EINVAL. These use the C layout: 8 header bytes, then entries.
#ifndef FAULTLINE_VMM_KVM_CPUID_BUFFER_H_
#define FAULTLINE_VMM_KVM_CPUID_BUFFER_H_

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace faultline::vmm {

struct CpuidHeader {
  uint32_t entry_count;
  uint32_t padding;
};
static_assert(sizeof(CpuidHeader) == 8, "kvm_cpuid2 header as in C");

inline constexpr unsigned long kKvmGetSupportedCpuid =
    _IOWR(KVMIO, 0x05, CpuidHeader);
inline constexpr unsigned long kKvmSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);

// A header followed by `capacity` entries, as the kernel reads and writes it.
class CpuidBuffer {
 public:
  explicit CpuidBuffer(uint32_t capacity)
      : bytes_(sizeof(CpuidHeader) + capacity * sizeof(kvm_cpuid_entry2)) {
    set_entry_count(capacity);
  }
  explicit CpuidBuffer(const std::vector<kvm_cpuid_entry2>& entries)
      : CpuidBuffer(static_cast<uint32_t>(entries.size())) {
    std::memcpy(bytes_.data() + sizeof(CpuidHeader), entries.data(),
                entries.size() * sizeof(kvm_cpuid_entry2));
  }

  void* data() { return bytes_.data(); }
  uint32_t entry_count() const {
    CpuidHeader header;
    std::memcpy(&header, bytes_.data(), sizeof(header));
    return header.entry_count;
  }
  void set_entry_count(uint32_t count) {
    const CpuidHeader header = {count, 0};
    std::memcpy(bytes_.data(), &header, sizeof(header));
  }
  std::vector<kvm_cpuid_entry2> Entries() const {
    std::vector<kvm_cpuid_entry2> entries(entry_count());
    std::memcpy(entries.data(), bytes_.data() + sizeof(CpuidHeader),
                entries.size() * sizeof(kvm_cpuid_entry2));
    return entries;
  }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_KVM_CPUID_BUFFER_H_
