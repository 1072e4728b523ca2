// The guest-physical regions of one VM and the checks that keep them sane:
// page alignment, no overlaps, RAM below the PCI hole, the device window where
// guest_abi.h puts it. Pure bookkeeping, no memory is mapped here.
//
// Threading: built on one thread, then read-only (safe to share).
#ifndef FAULTLINE_VMM_MEMORY_MEMORY_LAYOUT_H_
#define FAULTLINE_VMM_MEMORY_MEMORY_LAYOUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace faultline::vmm {

enum class RegionKind { kRam, kDeviceWindow };

struct RegionSpec {
  uint32_t id = 0;
  std::string name;
  RegionKind kind = RegionKind::kRam;
  uint64_t guest_physical_base = 0;
  uint64_t size_bytes = 0;

  uint64_t end() const { return guest_physical_base + size_bytes; }
};

class MemoryLayout {
 public:
  // Adds a region after checking it against the ABI and every region so far.
  absl::Status Add(const RegionSpec& region);

  // The region containing guest_physical, or nullptr.
  const RegionSpec* Find(uint64_t guest_physical) const;
  const RegionSpec* FindById(uint32_t id) const;

  // True when [guest_physical, +size) lies inside one region of `kind`.
  bool Contains(RegionKind kind, uint64_t guest_physical, uint64_t size) const;

  const std::vector<RegionSpec>& regions() const { return regions_; }

 private:
  std::vector<RegionSpec> regions_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_MEMORY_MEMORY_LAYOUT_H_
