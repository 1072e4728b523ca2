#include "broker/session/region_validation.h"

#include <algorithm>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/devmem/frame_pool_registry.h"
#include "broker/sources/source.h"
#include "proto/base/quote.h"
#include "proto/base/status_macros.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

std::string RegionLabel(const v1::Region& region) {
  return absl::StrCat("region ", region.region_id(), " (",
                      Quoted(region.name()), ")");
}

absl::Status ValidateSource(const v1::Region& region) {
  const std::string label = RegionLabel(region);
  const v1::Source& source = region.source();
  const bool device_kind = region.kind() == v1::REGION_KIND_DEVICE_MEMORY;
  if (source.kind_case() == v1::Source::KIND_NOT_SET) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": source has no kind set"));
  }
  if (device_kind != (source.kind_case() == v1::Source::kDevice)) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": a ", v1::RegionKind_Name(region.kind()),
                     device_kind ? " region needs a device source"
                                 : " region cannot have a device source"));
  }
  switch (source.kind_case()) {
    case v1::Source::kImage:
      if (source.image().path().empty() ||
          source.image().path().size() > kMaxImagePathBytes ||
          source.image().path().find('\0') != std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, ": image path must be 1-", kMaxImagePathBytes,
                         " bytes with no NUL, got ",
                         Quoted(source.image().path(), kQuotedPathBytes)));
      }
      if (source.image().file_offset() % v1::wire::kPageBytes != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, ": image file_offset ",
                         source.image().file_offset(), " is not page-aligned"));
      }
      break;
    case v1::Source::kStore:
      if (source.store().store().empty() ||
          source.store().store().size() > 128) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, ": store name must be 1-128 characters, got ",
                         Quoted(source.store().store())));
      }
      if (!v1::StoreSource::Missing_IsValid(source.store().missing())) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, ": store missing ", source.store().missing(),
                         " is not a StoreSource.Missing this broker knows"));
      }
      break;
    case v1::Source::kDevice: {
      const v1::DeviceSource& device = source.device();
      if (absl::Status status = ValidatePoolName(device.pool()); !status.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, ": ", status.message()));
      }
      if (!v1::FramePolicy_IsValid(device.policy())) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, ": device policy ", device.policy(),
                         " is not a FramePolicy this broker knows"));
      }
      if (!v1::Sharing_IsValid(device.sharing())) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, ": device sharing ", device.sharing(),
                         " is not a Sharing this broker knows"));
      }
      if (device.frame_count() == 0 || device.frame_count() > kMaxPoolFrames) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, ": device frame_count ", device.frame_count(),
                         " must be between 1 and ", kMaxPoolFrames));
      }
      break;
    }
    default:
      break;
  }
  return absl::OkStatus();
}

absl::Status ValidateRegion(const v1::Region& region) {
  const std::string label = RegionLabel(region);
  if (region.kind() != v1::REGION_KIND_RAM &&
      region.kind() != v1::REGION_KIND_DEVICE_MEMORY) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": kind ", static_cast<int>(region.kind()),
                     " is not REGION_KIND_RAM or REGION_KIND_DEVICE_MEMORY"));
  }
  if (region.page_size() != v1::wire::kPageBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": page_size ", region.page_size(), " is not ",
                     v1::wire::kPageBytes));
  }
  if (region.guest_physical_base() % v1::wire::kPageBytes != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        label, ": guest_physical_base 0x",
        absl::Hex(region.guest_physical_base()), " is not page-aligned"));
  }
  if (region.size_bytes() == 0 ||
      region.size_bytes() % v1::wire::kPageBytes != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": size_bytes ", region.size_bytes(),
                     " is not a non-zero whole number of pages"));
  }
  // Ending exactly at 2^64 is fine; base + size itself would wrap to 0.
  if (region.size_bytes() - 1 >
      std::numeric_limits<uint64_t>::max() - region.guest_physical_base()) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": ends past the 64-bit address space"));
  }
  if (region.name().size() > 128) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": name is longer than 128 characters"));
  }
  return ValidateSource(region);
}

}  // namespace

absl::Status ValidateAttach(const v1::AttachRequest& request) {
  if (request.protocol_version() != v1::wire::kProtocolVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("protocol_version ", request.protocol_version(),
                     " is not spoken here; this broker speaks ",
                     v1::wire::kProtocolVersion));
  }
  if (request.vm_name().empty() || request.vm_name().size() > 128) {
    return absl::InvalidArgumentError(absl::StrCat(
        "vm_name must be 1-128 characters, got ", Quoted(request.vm_name())));
  }
  if (request.regions().empty() || request.regions_size() > kMaxRegions) {
    return absl::InvalidArgumentError(
        absl::StrCat("an attach declares 1-", kMaxRegions, " regions, got ",
                     request.regions_size()));
  }
  std::set<uint32_t> ids;
  std::set<std::string> names;
  std::vector<std::pair<uint64_t, const v1::Region*>> by_base;
  for (const v1::Region& region : request.regions()) {
    RETURN_IF_ERROR(ValidateRegion(region));
    if (!ids.insert(region.region_id()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("region_id ", region.region_id(), " is declared twice"));
    }
    // Names are unique, the empty one too: statistics tell regions apart
    // by name.
    if (!names.insert(region.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "region name ", Quoted(region.name()), " is declared twice"));
    }
    by_base.emplace_back(region.guest_physical_base(), &region);
  }
  std::sort(by_base.begin(), by_base.end());
  for (size_t i = 1; i < by_base.size(); ++i) {
    const v1::Region& before = *by_base[i - 1].second;
    const v1::Region& after = *by_base[i].second;
    // A distance, not an end: a region ending at 2^64 has no end that fits.
    if (after.guest_physical_base() - before.guest_physical_base() <
        before.size_bytes()) {
      return absl::InvalidArgumentError(
          absl::StrCat(RegionLabel(before), " and ", RegionLabel(after),
                       " overlap at guest-physical 0x",
                       absl::Hex(after.guest_physical_base())));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateFaultTarget(const v1::Region& region, uint64_t offset) {
  if (offset % v1::wire::kPageBytes != 0) {
    return absl::InvalidArgumentError(absl::StrCat("offset ", offset, " in ",
                                                   RegionLabel(region),
                                                   " is not page-aligned"));
  }
  if (offset >= region.size_bytes()) {
    return absl::InvalidArgumentError(
        absl::StrCat("offset ", offset, " is outside ", RegionLabel(region),
                     " of ", region.size_bytes(), " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace faultline::broker
