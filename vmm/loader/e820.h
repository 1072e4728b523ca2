// The e820 memory map (BIOS INT 15h E820) that Linux reads from boot_params,
// derived from the one memory layout: every RAM region, minus the PC's
// reserved ranges (pc_memory_map.h), which are listed as reserved. What is
// neither, such as the PCI hole [3 GiB, 4 GiB), is a gap, where Linux puts
// PCI resources. Pure.
#ifndef FAULTLINE_VMM_LOADER_E820_H_
#define FAULTLINE_VMM_LOADER_E820_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "vmm/memory/memory_layout.h"
#include "vmm/memory/pc_memory_map.h"

namespace faultline::vmm {

enum class E820Type : uint32_t {
  kRam = 1,
  kReserved = 2,
};

struct E820Entry {
  uint64_t address = 0;
  uint64_t size = 0;
  E820Type type = E820Type::kRam;

  uint64_t end() const { return address + size; }
  bool operator==(const E820Entry& other) const {
    return address == other.address && size == other.size && type == other.type;
  }
};

// Linux's boot_params holds at most this many entries.
inline constexpr size_t kMaxE820Entries = 128;

// Sorted by address, no overlaps, neighbours of one type merged.
absl::StatusOr<std::vector<E820Entry>> BuildE820(
    const MemoryLayout& layout,
    absl::Span<const ReservedRange> reserved = kPcReservedRanges);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_LOADER_E820_H_
