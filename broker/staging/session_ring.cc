#include "broker/staging/session_ring.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace faultline::broker {
namespace {

namespace ring = ::faultline::v1::ring;

ring::Header* HeaderAt(char* memory) {
  return reinterpret_cast<ring::Header*>(memory);
}

}  // namespace

SessionRing::SessionRing(char* memory)
    : header_(HeaderAt(memory)),
      requests_(reinterpret_cast<const ring::RequestRecord*>(
                    memory + ring::kRequestsOffset),
                ring::kRequestRecords, &header_->request_tail,
                &header_->request_head, 0),
      answers_(
          reinterpret_cast<ring::AnswerRecord*>(memory + ring::kAnswersOffset),
          ring::kAnswerRecords, &header_->answer_tail, &header_->answer_head,
          0) {}

void SessionRing::Want(uint64_t generation) {
  absl::MutexLock lock(&mu_);
  wanted_ = std::max(wanted_, generation);
}

bool SessionRing::TryAcquire(uint64_t generation) {
  absl::MutexLock lock(&mu_);
  if (holder_ != 0) return false;
  holder_ = generation;
  return true;
}

void SessionRing::Relinquish(uint64_t generation) {
  absl::MutexLock lock(&mu_);
  if (holder_ == generation) holder_ = 0;
}

bool SessionRing::Superseded(uint64_t generation) const {
  absl::MutexLock lock(&mu_);
  return wanted_ > generation;
}

absl::StatusOr<std::optional<RingRequest>> SessionRing::TakeRequest() {
  if (held_.has_value()) {
    std::optional<RingRequest> request = std::move(held_);
    held_.reset();
    return request;
  }
  ring::RequestRecord record;
  absl::StatusOr<bool> took = requests_.Take(&record);
  if (!took.ok()) {
    absl::Status why = absl::InvalidArgumentError(
        absl::StrCat("fault ring: ", took.status().message()));
    Break(why);
    return why;
  }
  if (!*took) return std::nullopt;
  absl::StatusOr<RingRequest> request = ring::DecodeRequest(record);
  if (!request.ok()) {
    Break(request.status());
    return request.status();
  }
  return *std::move(request);
}

void SessionRing::Hold(RingRequest request) { held_ = std::move(request); }

void SessionRing::Wait(absl::Duration timeout) {
  requests_.Wait(spin_, timeout);
}

void SessionRing::Wake() { requests_.Wake(); }

bool SessionRing::PushAnswer(const v1::FaultAnswer& answer,
                             uint64_t generation) {
  ring::AnswerRecord record;
  if (!ring::EncodeAnswer(answer, generation, &record)) return false;
  if (!broken().ok()) return false;
  absl::MutexLock lock(&produce_mu_);
  absl::StatusOr<uint32_t> room = answers_.Room();
  if (!room.ok()) {
    Break(absl::InvalidArgumentError(
        absl::StrCat("fault ring answers: ", room.status().message())));
    return false;
  }
  if (*room == 0) return false;
  answers_.Put(record);
  answers_.Publish();
  return true;
}

absl::Status SessionRing::broken() const {
  absl::MutexLock lock(&mu_);
  return broken_;
}

void SessionRing::Break(const absl::Status& why) {
  absl::MutexLock lock(&mu_);
  if (broken_.ok()) broken_ = why;
}

}  // namespace faultline::broker
