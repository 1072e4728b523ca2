#include "broker/sources/make_source.h"

#include "absl/strings/str_cat.h"
#include "broker/sources/image_source.h"
#include "broker/sources/pattern_source.h"
#include "broker/sources/store_source.h"
#include "broker/sources/zero_source.h"
#include "proto/base/status_macros.h"

namespace faultline::broker {

absl::StatusOr<std::unique_ptr<PageSource>> MakeSource(const v1::Region& region,
                                                       StoreBackend& stores) {
  const v1::Source& source = region.source();
  switch (source.kind_case()) {
    case v1::Source::kZero:
      return std::make_unique<ZeroSource>();
    case v1::Source::kImage: {
      ASSIGN_OR_RETURN(auto image,
                       ImageSource::Create(source.image().path(),
                                           source.image().file_offset()));
      return std::unique_ptr<PageSource>(std::move(image));
    }
    case v1::Source::kPattern:
      return std::make_unique<PatternSource>(source.pattern().seed(),
                                             region.guest_physical_base());
    case v1::Source::kStore:
      return std::make_unique<StoreSource>(
          stores, source.store().store(),
          source.store().missing() == v1::StoreSource::MISSING_ZERO);
    case v1::Source::kDevice:
    case v1::Source::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("region ", region.region_id(), " (", region.name(),
                   "): no page source for this source kind"));
}

}  // namespace faultline::broker
