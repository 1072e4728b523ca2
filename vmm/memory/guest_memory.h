// Guest memory: one anonymous host mapping per region of a checked layout,
// and translation between guest-physical and host addresses. Nothing is
// populated here; the loader and the fault engine fill pages.
//
// Threading: immutable after Create(); lookups are safe from any thread.
#ifndef FAULTLINE_VMM_MEMORY_GUEST_MEMORY_H_
#define FAULTLINE_VMM_MEMORY_GUEST_MEMORY_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "vmm/memory/anonymous_mapping.h"
#include "vmm/memory/memory_layout.h"

namespace faultline::vmm {

struct MappedRegion {
  RegionSpec spec;
  std::unique_ptr<AnonymousMapping> mapping;

  uint8_t* host_base() const { return mapping->data(); }
};

// A host address resolved to the region and page-aligned offset it backs.
struct HostPage {
  const MappedRegion* region = nullptr;
  uint64_t offset = 0;
};

class GuestMemory {
 public:
  static absl::StatusOr<std::unique_ptr<GuestMemory>> Create(
      const MemoryLayout& layout);

  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  const std::vector<MappedRegion>& regions() const { return regions_; }
  const MappedRegion* FindRegion(uint32_t id) const;

  // The host address of [guest_physical, +size) when it lies in one region.
  absl::StatusOr<uint8_t*> HostAddress(uint64_t guest_physical,
                                       uint64_t size) const;

  // The region page containing host_address, or region == nullptr.
  HostPage FindHostPage(uint64_t host_address) const;

  // The region containing guest_physical, or nullptr.
  const MappedRegion* FindGuestRegion(uint64_t guest_physical) const;

 private:
  explicit GuestMemory(std::vector<MappedRegion> regions)
      : regions_(std::move(regions)) {}

  std::vector<MappedRegion> regions_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_MEMORY_GUEST_MEMORY_H_
