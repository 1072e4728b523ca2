// Builds the PageSource a RAM region's Source asks for.
#ifndef FAULTLINE_BROKER_SOURCES_MAKE_SOURCE_H_
#define FAULTLINE_BROKER_SOURCES_MAKE_SOURCE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "broker/sources/page_store.h"
#include "broker/sources/source.h"
#include "proto/base/unique_fd.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

// `region` was validated (a RAM region with a zero, image, pattern or store
// source). An image source reads `image`, which the caller opened with the
// attaching client's rights (image_open.h); the broker never opens an image
// path with its own.
absl::StatusOr<std::unique_ptr<PageSource>> MakeSource(
    const v1::Region& region, PageStoreRegistry& stores,
    UniqueFd image = UniqueFd());

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SOURCES_MAKE_SOURCE_H_
