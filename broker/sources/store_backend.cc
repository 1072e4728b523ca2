#include "broker/sources/store_backend.h"

#include "absl/strings/str_cat.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {

using v1::wire::kPageBytes;

absl::Status ValidateStoreName(absl::string_view name) {
  if (name.empty() || name.size() > 128) {
    return absl::InvalidArgumentError(
        absl::StrCat("a store name is 1-128 bytes, not ", name.size()));
  }
  return absl::OkStatus();
}

absl::Status ValidateWrite(absl::string_view store, uint64_t offset,
                           uint64_t size, const StoreLimits& limits) {
  if (absl::Status name = ValidateStoreName(store); !name.ok()) return name;
  if (offset % kPageBytes != 0 || size % kPageBytes != 0 || size == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "store ", store, ": put at offset ", offset, " of ", size,
        " bytes is not a whole number of 4096-byte pages at a page boundary"));
  }
  if (offset + size < offset) {
    return absl::InvalidArgumentError(absl::StrCat(
        "store ", store, ": put at offset ", offset, " wraps around"));
  }
  if (limits.extent_bytes != 0 && offset + size > limits.extent_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "store ", store, ": put of ", size, " bytes at offset ", offset,
        " ends past the largest store offset, ", limits.extent_bytes));
  }
  return absl::OkStatus();
}

absl::Status CheckLimits(absl::string_view store, uint64_t store_bytes,
                         uint64_t total_bytes, uint64_t added_bytes,
                         const StoreLimits& limits) {
  if (limits.store_bytes != 0 &&
      store_bytes + added_bytes > limits.store_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("store ", store, " holds ", store_bytes, " bytes; ",
                     added_bytes, " more would pass the limit of ",
                     limits.store_bytes, " bytes per store"));
  }
  if (limits.total_bytes != 0 &&
      total_bytes + added_bytes > limits.total_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("stores hold ", total_bytes, " bytes; ", added_bytes,
                     " more for store ", store, " would pass the limit of ",
                     limits.total_bytes, " bytes for all stores"));
  }
  return absl::OkStatus();
}

}  // namespace faultline::broker
