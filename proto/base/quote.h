// Values quoted in error messages. A refused value goes back to the caller
// inside the status message, which gRPC carries as metadata: a client's
// default limit is 8 KiB, so a long value would turn a clear
// INVALID_ARGUMENT into RESOURCE_EXHAUSTED. Every quoted value is therefore
// C-escaped and cut to a bounded prefix that says how long it was.
#ifndef FAULTLINE_PROTO_BASE_QUOTE_H_
#define FAULTLINE_PROTO_BASE_QUOTE_H_

#include <cstddef>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace faultline {

// The most bytes of a value a message quotes (at most four times as many
// once escaped).
inline constexpr size_t kQuotedBytes = 128;

// Paths get more: their tail is often what tells them apart.
inline constexpr size_t kQuotedPathBytes = 256;

// "value", or "first 128 bytes..." (N bytes) for a longer one.
inline std::string Quoted(absl::string_view value,
                          size_t max_bytes = kQuotedBytes) {
  if (value.size() <= max_bytes) {
    return absl::StrCat("\"", absl::CEscape(value), "\"");
  }
  return absl::StrCat("\"", absl::CEscape(value.substr(0, max_bytes)),
                      "...\" (", value.size(), " bytes)");
}

}  // namespace faultline

#endif  // FAULTLINE_PROTO_BASE_QUOTE_H_
