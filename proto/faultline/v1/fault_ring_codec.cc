#include "proto/faultline/v1/fault_ring_codec.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::v1::ring {
namespace {

absl::Status Bad(const char* what, uint64_t value) {
  return absl::InvalidArgumentError(
      absl::StrFormat("fault ring record: %s %u is out of range", what, value));
}

bool SetText(const std::string& text, AnswerRecord* record) {
  if (text.size() > kTextBytes) return false;
  record->text_bytes = static_cast<uint32_t>(text.size());
  std::memcpy(record->text, text.data(), text.size());
  return true;
}

}  // namespace

RequestRecord EncodeRequest(uint64_t generation, const FaultRequest* fault,
                            absl::Span<const uint32_t> released) {
  RequestRecord record{};
  record.generation = generation;
  record.kind = fault != nullptr ? kRequestFault : kRequestReleaseOnly;
  if (fault != nullptr) {
    record.fault_id = fault->fault_id();
    record.offset = fault->offset();
    record.region_id = fault->region_id();
    record.access = static_cast<uint32_t>(fault->access());
    record.vcpu = fault->vcpu();
    record.attempt = fault->attempt();
    record.prefetch_hint = fault->prefetch_hint();
  }
  const size_t count = std::min<size_t>(released.size(), kReleasesPerRecord);
  record.release_count = static_cast<uint32_t>(count);
  std::memcpy(record.released, released.data(), count * sizeof(uint32_t));
  return record;
}

absl::StatusOr<RingRequest> DecodeRequest(const RequestRecord& record) {
  RingRequest request;
  request.generation = record.generation;
  if (record.generation == 0) return Bad("generation", 0);
  if (record.release_count > kReleasesPerRecord) {
    return Bad("release_count", record.release_count);
  }
  request.released_slots.assign(record.released,
                                record.released + record.release_count);
  switch (record.kind) {
    case kRequestReleaseOnly:
      return request;
    case kRequestFault:
      break;
    default:
      return Bad("kind", record.kind);
  }
  if (record.access > ACCESS_KIND_EXEC) return Bad("access", record.access);
  FaultRequest& fault = request.fault.emplace();
  fault.set_fault_id(record.fault_id);
  fault.set_region_id(record.region_id);
  fault.set_offset(record.offset);
  fault.set_access(static_cast<AccessKind>(record.access));
  fault.set_vcpu(record.vcpu);
  fault.set_attempt(record.attempt);
  fault.set_prefetch_hint(record.prefetch_hint);
  return request;
}

bool EncodeAnswer(const FaultAnswer& answer, uint64_t generation,
                  AnswerRecord* record) {
  record->generation = generation;
  record->fault_id = answer.fault_id();
  record->offset = answer.offset();
  record->region_id = answer.region_id();
  record->frame = 0;
  record->slot = 0;
  record->code = 0;
  record->delay_hint_us = 0;
  record->text_bytes = 0;
  record->reserved = 0;
  switch (answer.answer_case()) {
    case FaultAnswer::kPage:
      if (!answer.page().has_staging_slot()) return false;
      record->kind = kAnswerPage;
      record->slot = answer.page().staging_slot();
      break;
    case FaultAnswer::kZero:
      record->kind = kAnswerZero;
      break;
    case FaultAnswer::kFrame:
      record->kind = kAnswerFrame;
      record->frame = answer.frame().frame();
      break;
    case FaultAnswer::kRetry:
      record->kind = kAnswerRetry;
      record->code = static_cast<uint32_t>(answer.retry().reason());
      record->delay_hint_us = answer.retry().delay_hint_us();
      if (!SetText(answer.retry().detail(), record)) return false;
      break;
    case FaultAnswer::kError:
      record->kind = kAnswerError;
      record->code = static_cast<uint32_t>(answer.error().kind());
      if (!SetText(answer.error().message(), record)) return false;
      break;
    case FaultAnswer::ANSWER_NOT_SET:
      return false;
  }
  if (answer.extra_pages_size() > static_cast<int>(wire::kMaxPrefetchPages)) {
    return false;
  }
  record->extra_count = static_cast<uint32_t>(answer.extra_pages_size());
  for (int i = 0; i < answer.extra_pages_size(); ++i) {
    const ExtraPage& extra = answer.extra_pages(i);
    if (extra.offset() != answer.offset() + (i + 1) * wire::kPageBytes) {
      return false;
    }
    ExtraEntry& entry = record->extras[i];
    if (extra.has_zero()) {
      entry = {0, 1};
    } else if (extra.has_staging_slot()) {
      entry = {extra.staging_slot(), 0};
    } else {
      return false;
    }
  }
  return true;
}

absl::StatusOr<FaultAnswer> DecodeAnswer(const AnswerRecord& record,
                                         uint64_t* generation) {
  *generation = record.generation;
  if (record.extra_count > wire::kMaxPrefetchPages) {
    return Bad("extra_count", record.extra_count);
  }
  if (record.text_bytes > kTextBytes) {
    return Bad("text_bytes", record.text_bytes);
  }
  const std::string text(record.text, record.text_bytes);
  FaultAnswer answer;
  answer.set_fault_id(record.fault_id);
  answer.set_region_id(record.region_id);
  answer.set_offset(record.offset);
  switch (record.kind) {
    case kAnswerPage:
      answer.mutable_page()->set_staging_slot(record.slot);
      break;
    case kAnswerZero:
      answer.mutable_zero();
      break;
    case kAnswerFrame:
      answer.mutable_frame()->set_frame(record.frame);
      break;
    case kAnswerRetry:
      answer.mutable_retry()->set_reason(static_cast<RetryReason>(record.code));
      answer.mutable_retry()->set_delay_hint_us(record.delay_hint_us);
      answer.mutable_retry()->set_detail(text);
      break;
    case kAnswerError:
      answer.mutable_error()->set_kind(static_cast<ErrorKind>(record.code));
      answer.mutable_error()->set_message(text);
      break;
    default:
      return Bad("answer kind", record.kind);
  }
  for (uint32_t i = 0; i < record.extra_count; ++i) {
    ExtraPage* extra = answer.add_extra_pages();
    extra->set_offset(record.offset + (i + 1) * wire::kPageBytes);
    if (record.extras[i].zero != 0) {
      extra->mutable_zero();
    } else {
      extra->set_staging_slot(record.extras[i].slot);
    }
  }
  return answer;
}

}  // namespace faultline::v1::ring
