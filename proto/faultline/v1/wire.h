// Protocol v1's constants that are not fields of a message: the one place
// each is written. Freestanding (no libc, no protobuf), so host code, tools
// and guest payloads can all include it.
#ifndef FAULTLINE_PROTO_FAULTLINE_V1_WIRE_H_
#define FAULTLINE_PROTO_FAULTLINE_V1_WIRE_H_

#include <stdint.h>

namespace faultline::v1::wire {

// AttachRequest.protocol_version of a VMM that speaks this protocol.
inline constexpr uint32_t kProtocolVersion = 1;

// gRPC metadata key that carries a session's token on session-scoped calls.
inline constexpr char kSessionTokenKey[] = "faultline-session-token";

// Every region's page size: guest pages, store pages, frames, staging slots.
inline constexpr uint64_t kPageBytes = 4096;

// The most extra pages one answer may carry; larger hints are clamped.
inline constexpr uint32_t kMaxPrefetchPages = 64;

// The most page bytes one PutPagesRequest may carry; larger is refused.
inline constexpr uint64_t kMaxPutPagesBytes = 4194304;

}  // namespace faultline::v1::wire

#endif  // FAULTLINE_PROTO_FAULTLINE_V1_WIRE_H_
