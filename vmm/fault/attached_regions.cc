#include "vmm/fault/attached_regions.h"

#include "absl/strings/str_format.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::vmm {

namespace wire = ::faultline::v1::wire;

absl::StatusOr<std::vector<v1::Region>> AttachedRegions(
    const GuestMemory& memory, const RegionSources& sources) {
  std::vector<v1::Region> regions;
  for (const MappedRegion& mapped : memory.regions()) {
    auto source = sources.find(mapped.spec.id);
    if (source == sources.end()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "region %u '%s' has no source", mapped.spec.id, mapped.spec.name));
    }
    v1::Region& region = regions.emplace_back();
    region.set_region_id(mapped.spec.id);
    region.set_name(mapped.spec.name);
    region.set_kind(mapped.spec.kind == RegionKind::kRam
                        ? v1::REGION_KIND_RAM
                        : v1::REGION_KIND_DEVICE_MEMORY);
    region.set_guest_physical_base(mapped.spec.guest_physical_base);
    region.set_size_bytes(mapped.spec.size_bytes);
    region.set_page_size(wire::kPageBytes);
    *region.mutable_source() = source->second;
  }
  if (regions.size() != sources.size()) {
    return absl::InvalidArgumentError(
        "a source names a region that guest memory does not have");
  }
  return regions;
}

}  // namespace faultline::vmm
