// Checks an AttachRequest before anything is created for it: protocol
// version, VM name, and every region (alignment, size, page size, overlap,
// source kind against region kind, duplicate ids and names). Every length
// is bounded, and a refused value is quoted short (proto/base/quote.h).
#ifndef FAULTLINE_BROKER_SESSION_REGION_VALIDATION_H_
#define FAULTLINE_BROKER_SESSION_REGION_VALIDATION_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "broker/devmem/frame_pool.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

inline constexpr int kMaxRegions = 64;
// An image path fits PATH_MAX (4096 with its NUL).
inline constexpr size_t kMaxImagePathBytes = 4095;

// INVALID_ARGUMENT (FAILED_PRECONDITION for the protocol version) with a
// message naming the offending region and value.
absl::Status ValidateAttach(const v1::AttachRequest& request);

// A fault request against the regions a session declared: region known,
// offset page-aligned and inside it. INVALID_ARGUMENT naming the value.
absl::Status ValidateFaultTarget(const v1::Region& region, uint64_t offset);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SESSION_REGION_VALIDATION_H_
