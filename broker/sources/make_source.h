// Builds the PageSource a RAM region's Source asks for.
#ifndef FAULTLINE_BROKER_SOURCES_MAKE_SOURCE_H_
#define FAULTLINE_BROKER_SOURCES_MAKE_SOURCE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "broker/sources/source.h"
#include "broker/sources/store_backend.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

// `region` was validated (a RAM region with a zero, image, pattern or store
// source). Fails when an image file cannot be opened. Store sources read
// through `stores`, which outlives them.
absl::StatusOr<std::unique_ptr<PageSource>> MakeSource(const v1::Region& region,
                                                       StoreBackend& stores);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SOURCES_MAKE_SOURCE_H_
