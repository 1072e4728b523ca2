#include "vmm/memory/guest_memory.h"

#include "absl/strings/str_format.h"
#include "proto/base/status_macros.h"
#include "proto/guest_abi.h"

namespace faultline::vmm {

absl::StatusOr<std::unique_ptr<GuestMemory>> GuestMemory::Create(
    const MemoryLayout& layout) {
  std::vector<MappedRegion> regions;
  for (const RegionSpec& spec : layout.regions()) {
    ASSIGN_OR_RETURN(auto mapping, AnonymousMapping::Create(spec.size_bytes));
    regions.push_back(MappedRegion{spec, std::move(mapping)});
  }
  return std::unique_ptr<GuestMemory>(new GuestMemory(std::move(regions)));
}

const MappedRegion* GuestMemory::FindRegion(uint32_t id) const {
  for (const MappedRegion& region : regions_) {
    if (region.spec.id == id) return &region;
  }
  return nullptr;
}

const MappedRegion* GuestMemory::FindGuestRegion(
    uint64_t guest_physical) const {
  for (const MappedRegion& region : regions_) {
    if (guest_physical >= region.spec.guest_physical_base &&
        guest_physical < region.spec.end()) {
      return &region;
    }
  }
  return nullptr;
}

absl::StatusOr<uint8_t*> GuestMemory::HostAddress(uint64_t guest_physical,
                                                  uint64_t size) const {
  const MappedRegion* region = FindGuestRegion(guest_physical);
  if (region != nullptr && size <= region->spec.end() - guest_physical) {
    return region->host_base() +
           (guest_physical - region->spec.guest_physical_base);
  }
  return absl::OutOfRangeError(
      absl::StrFormat("guest-physical [%#x, +%#x) is not inside one region",
                      guest_physical, size));
}

HostPage GuestMemory::FindHostPage(uint64_t host_address) const {
  for (const MappedRegion& region : regions_) {
    const auto base = reinterpret_cast<uint64_t>(region.host_base());
    if (host_address >= base && host_address < base + region.spec.size_bytes) {
      const uint64_t offset = host_address - base;
      return HostPage{&region, offset - offset % guest_abi::kPageBytes};
    }
  }
  return HostPage{};
}

}  // namespace faultline::vmm
