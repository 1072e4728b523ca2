#include "vmm/memory/memory_layout.h"

#include "absl/strings/str_format.h"
#include "proto/guest_abi.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

std::string Describe(const RegionSpec& region) {
  return absl::StrFormat("region %u '%s' [%#x, %#x)", region.id, region.name,
                         region.guest_physical_base, region.end());
}

}  // namespace

absl::Status MemoryLayout::Add(const RegionSpec& region) {
  if (region.size_bytes == 0) {
    return absl::InvalidArgumentError(Describe(region) + " is empty");
  }
  if (region.guest_physical_base % abi::kPageBytes != 0 ||
      region.size_bytes % abi::kPageBytes != 0) {
    return absl::InvalidArgumentError(Describe(region) +
                                      " is not page-aligned");
  }
  if (region.end() < region.guest_physical_base) {
    return absl::InvalidArgumentError(Describe(region) + " wraps around");
  }
  switch (region.kind) {
    case RegionKind::kRam:
      if (region.end() > abi::kMaxRamBytes) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: RAM must end at or below the PCI hole at %#x",
                            Describe(region), abi::kMaxRamBytes));
      }
      break;
    case RegionKind::kDeviceWindow:
      if (region.guest_physical_base < abi::kPciMemWindowBarAddress ||
          region.end() >
              abi::kPciMemWindowBarAddress + abi::kMaxPciMemWindowBytes) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: the device window must lie in [%#x, %#x)", Describe(region),
            abi::kPciMemWindowBarAddress,
            abi::kPciMemWindowBarAddress + abi::kMaxPciMemWindowBytes));
      }
      break;
  }
  for (const RegionSpec& other : regions_) {
    if (other.id == region.id) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s reuses the id of %s", Describe(region), Describe(other)));
    }
    if (region.guest_physical_base < other.end() &&
        other.guest_physical_base < region.end()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s overlaps %s", Describe(region), Describe(other)));
    }
  }
  regions_.push_back(region);
  return absl::OkStatus();
}

const RegionSpec* MemoryLayout::Find(uint64_t guest_physical) const {
  for (const RegionSpec& region : regions_) {
    if (guest_physical >= region.guest_physical_base &&
        guest_physical < region.end()) {
      return &region;
    }
  }
  return nullptr;
}

const RegionSpec* MemoryLayout::FindById(uint32_t id) const {
  for (const RegionSpec& region : regions_) {
    if (region.id == id) return &region;
  }
  return nullptr;
}

bool MemoryLayout::Contains(RegionKind kind, uint64_t guest_physical,
                            uint64_t size) const {
  const RegionSpec* region = Find(guest_physical);
  return region != nullptr && region->kind == kind &&
         size <= region->end() - guest_physical;
}

}  // namespace faultline::vmm
