// Protocol v1's fault ring: the layout of the request/answer rings that a
// co-located VMM and broker share at the end of the session's staging file
// (StagingArea.fault_ring), so faults and answers need no gRPC message.
// The one place the layout is written; both sides check every index and
// every record they read from it (proto/base/shared_ring.h).
//
// Each direction is a single-producer, single-consumer ring of fixed-size
// records with free-running 32-bit indices: the producer owns `tail`, the
// consumer `head`, record i lives at i % capacity. The doorbell is the
// producer's tail word: a consumer with nothing to read sets `waiting` and
// sleeps on it (FUTEX_WAIT); a producer that sees `waiting` wakes it.
//
// Every record carries the VMM's stream generation (StreamOpen.
// fault_ring_generation): requests are served on that stream only, and a
// VMM ignores answers of another stream (their slots are not its own).
// Anything that does not fit a record (inline page bytes, long texts,
// revocations) goes on the Faults stream as before.
//
// Freestanding: only <stdint.h>.
#ifndef FAULTLINE_PROTO_FAULTLINE_V1_FAULT_RING_H_
#define FAULTLINE_PROTO_FAULTLINE_V1_FAULT_RING_H_

#include <stdint.h>

#include "proto/faultline/v1/wire.h"

namespace faultline::v1::ring {

// StagingArea.fault_ring.layout_version of this layout.
inline constexpr uint32_t kLayoutVersion = 1;
// Header.magic: "FLRG".
inline constexpr uint32_t kMagic = 0x47524c46;

inline constexpr uint32_t kRequestRecords = 256;  // powers of two
inline constexpr uint32_t kAnswerRecords = 256;
// Staging slots released by one request record.
inline constexpr uint32_t kReleasesPerRecord = 50;
// Bytes of a retry's detail or an error's message carried in a record;
// longer ones go on the stream.
inline constexpr uint32_t kTextBytes = 120;

// One index and the flag of a consumer asleep on it, a cache line each.
struct alignas(64) RingIndex {
  uint32_t value;
  uint32_t waiting;
};

// At byte 0 of the ring; magic, version and record counts are written once
// by the broker before the grant.
struct Header {
  uint32_t magic;
  uint32_t layout_version;
  uint32_t request_records;
  uint32_t answer_records;
  RingIndex request_tail;  // written by the VMM
  RingIndex request_head;  // written by the broker
  RingIndex answer_tail;   // written by the broker
  RingIndex answer_head;   // written by the VMM
};

enum RequestKind : uint32_t {
  kRequestFault = 1,        // a FaultRequest, and releases
  kRequestReleaseOnly = 2,  // releases alone
};

// A FaultStreamRequest with a fault (or none) and released staging slots.
struct RequestRecord {
  uint64_t generation;
  uint64_t fault_id;
  uint64_t offset;
  uint32_t kind;  // RequestKind
  uint32_t region_id;
  uint32_t access;  // AccessKind
  uint32_t vcpu;
  uint32_t attempt;
  uint32_t prefetch_hint;
  uint32_t release_count;  // at most kReleasesPerRecord
  uint32_t reserved;
  uint32_t released[kReleasesPerRecord];
};

enum AnswerKind : uint32_t {
  kAnswerPage = 1,  // page in `slot`
  kAnswerZero = 2,
  kAnswerFrame = 3,  // `frame`
  kAnswerRetry = 4,  // `code` RetryReason, `delay_hint_us`, `text`
  kAnswerError = 5,  // `code` ErrorKind, `text`
};

// Extra page i is at the answer's offset + (i + 1) pages.
struct ExtraEntry {
  uint32_t slot;  // its staging slot, unless `zero`
  uint32_t zero;  // 1: a zero page
};

// A FaultAnswer whose pages are all staged or zero.
struct AnswerRecord {
  uint64_t generation;
  uint64_t fault_id;
  uint64_t offset;
  uint64_t frame;
  uint32_t region_id;
  uint32_t kind;  // AnswerKind
  uint32_t slot;
  uint32_t code;
  uint32_t delay_hint_us;
  uint32_t extra_count;  // at most wire::kMaxPrefetchPages
  uint32_t text_bytes;   // at most kTextBytes
  uint32_t reserved;
  ExtraEntry extras[wire::kMaxPrefetchPages];
  char text[kTextBytes];
};

inline constexpr uint64_t kRequestsOffset = 4096;
inline constexpr uint64_t kAnswersOffset =
    kRequestsOffset + uint64_t{kRequestRecords} * sizeof(RequestRecord);
// The ring's bytes, a whole number of pages.
inline constexpr uint64_t kRingBytes =
    (kAnswersOffset + uint64_t{kAnswerRecords} * sizeof(AnswerRecord) +
     wire::kPageBytes - 1) /
    wire::kPageBytes * wire::kPageBytes;

static_assert(sizeof(Header) <= kRequestsOffset, "header fits its page");
static_assert(sizeof(RequestRecord) == 256, "request records are 256 bytes");
static_assert(sizeof(AnswerRecord) % 8 == 0, "answer records stay aligned");
static_assert((kRequestRecords & (kRequestRecords - 1)) == 0 &&
                  (kAnswerRecords & (kAnswerRecords - 1)) == 0,
              "record counts are powers of two");

}  // namespace faultline::v1::ring

#endif  // FAULTLINE_PROTO_FAULTLINE_V1_FAULT_RING_H_
