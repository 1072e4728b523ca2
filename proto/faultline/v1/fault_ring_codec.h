// Fault ring records (fault_ring.h) to and from protocol v1's messages, for
// both sides: the VMM encodes requests and decodes answers, the broker
// decodes requests and encodes answers. A decoder takes a record copied out
// of shared memory and checks every field the other side wrote; what it
// cannot accept is INVALID_ARGUMENT naming the field and its value. What
// the messages' receivers check anyway (a fault's region and offset, an
// answer's slots against the area) is left to them.
#ifndef FAULTLINE_PROTO_FAULTLINE_V1_FAULT_RING_CODEC_H_
#define FAULTLINE_PROTO_FAULTLINE_V1_FAULT_RING_CODEC_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "proto/faultline/v1/broker.pb.h"
#include "proto/faultline/v1/fault_ring.h"

namespace faultline::v1::ring {

// A request record, decoded.
struct RingRequest {
  uint64_t generation = 0;
  std::optional<FaultRequest> fault;  // none: releases only
  std::vector<uint32_t> released_slots;
};

// A record with `fault` (or none) and up to kReleasesPerRecord of
// `released` (the caller splits longer lists).
RequestRecord EncodeRequest(uint64_t generation, const FaultRequest* fault,
                            absl::Span<const uint32_t> released);
absl::StatusOr<RingRequest> DecodeRequest(const RequestRecord& record);

// False (the record unspecified) when `answer` does not fit a record: a
// page given as bytes, a text longer than kTextBytes, extra pages not one
// after the other, or no answer set.
bool EncodeAnswer(const FaultAnswer& answer, uint64_t generation,
                  AnswerRecord* record);
// The answer and its record's generation.
absl::StatusOr<FaultAnswer> DecodeAnswer(const AnswerRecord& record,
                                         uint64_t* generation);

}  // namespace faultline::v1::ring

#endif  // FAULTLINE_PROTO_FAULTLINE_V1_FAULT_RING_CODEC_H_
