#include "broker/data/fault_stream.h"

#include <cstdio>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/data/ring_reader.h"
#include "broker/data/stream_writer.h"
#include "broker/staging/session_staging.h"

namespace faultline::broker {
namespace {

absl::Status NotOpen() {
  return absl::FailedPreconditionError(
      "the first message of a Faults stream must be StreamOpen");
}

class FaultStream : public FaultStreamReactor {
 public:
  FaultStream(grpc::CallbackServerContext* context,
              const Authorizer& authorizer, FaultProcessor& processor)
      : context_(context),
        authorizer_(authorizer),
        processor_(processor),
        writer_(std::make_shared<StreamWriter>(this)) {
    ContinueReading();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      writer_->ReadsDone();
      return;
    }
    absl::Status status = Handle(request_);
    if (!status.ok()) {
      if (session_ != nullptr && absl::IsInvalidArgument(status)) {
        status = processor_.Refuse(session_, status);
      }
      writer_->Fail(status);
      return;
    }
    ContinueReading();
  }

  void OnWriteDone(bool ok) override {
    if (writer_->WriteDone(ok)) ContinueReading();
  }

  void OnCancel() override { writer_->Fail(absl::CancelledError("cancelled")); }

  void OnDone() override {
    // No ring request reaches the stream from here on.
    if (ring_reader_ != nullptr) ring_reader_->Stop();
    if (session_ != nullptr) {
      session_->ClearStream(writer_.get());
      // The VMM is done with this stream's slots only now.
      slots_->End();
    }
    delete this;
  }

 private:
  void ContinueReading() {
    // Over its quota the session is not read: the VMM's writes wait in
    // HTTP/2 flow control until the throttle resumes this stream, on
    // whatever thread, through the writer (which outlives the reactor).
    if (!writer_->BeginRead()) return;
    if (session_ != nullptr &&
        !processor_.MayTake(session_, [this, writer = writer_] {
          writer->RunUnlessEnding([this] { ContinueReading(); });
        })) {
      writer_->ReadStarted();  // not started after all
      return;
    }
    request_.Clear();
    StartRead(&request_);
    writer_->ReadStarted();
  }

  absl::Status Handle(const v1::FaultStreamRequest& request) {
    // Slots ride on any message: freed before its fault is worked on, or
    // after its StreamOpen.
    const bool open_before = session_ != nullptr;
    if (open_before) slots_->Release(request.released_staging_slots());
    absl::Status status = HandleMessage(request);
    if (status.ok() && !open_before) {
      slots_->Release(request.released_staging_slots());
    }
    return status;
  }

  absl::Status HandleMessage(const v1::FaultStreamRequest& request) {
    switch (request.message_case()) {
      case v1::FaultStreamRequest::kOpen:
        return Open(request.open());
      case v1::FaultStreamRequest::kFault:
        if (session_ == nullptr) return NotOpen();
        StartFault(request.fault());
        return absl::OkStatus();
      case v1::FaultStreamRequest::kRevocationDone:
        if (session_ == nullptr) return NotOpen();
        session_->ConfirmRevocation(request.revocation_done().revocation_id());
        return absl::OkStatus();
      case v1::FaultStreamRequest::MESSAGE_NOT_SET:
        // A release-only message (the VMM had no fault to carry it on).
        if (request.released_staging_slots_size() > 0) {
          return session_ == nullptr ? NotOpen() : absl::OkStatus();
        }
        return absl::InvalidArgumentError(
            "FaultStreamRequest has none of open, fault, revocation_done set");
    }
    return absl::InvalidArgumentError("unknown FaultStreamRequest message");
  }

  absl::Status Open(const v1::StreamOpen& open) {
    if (session_ != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("StreamOpen sent twice on one stream (session ",
                       session_->id(), ")"));
    }
    absl::StatusOr<std::shared_ptr<Session>> session =
        authorizer_.AuthorizeSession(*context_, open.session_id());
    if (!session.ok()) return session.status();
    // One stream per session: a stream still open on it is ended first; its
    // slots stay its own until it is over (OnDone), so none of them is
    // rewritten while its VMM may still read it.
    absl::StatusOr<std::shared_ptr<StreamSlots>> slots =
        (*session)->OpenStream(writer_);
    if (!slots.ok()) return slots.status();
    session_ = *std::move(session);
    slots_ = *std::move(slots);
    if (open.fault_ring_generation() != 0) return OpenRing(open);
    return absl::OkStatus();
  }

  // The stream's requests may also come through the session's fault ring,
  // and its answers go back through it when they fit.
  absl::Status OpenRing(const v1::StreamOpen& open) {
    SessionRing* ring = session_->staging().ring();
    if (ring == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "session ", session_->id(), " was granted no fault ring"));
    }
    if (absl::Status broken = ring->broken(); !broken.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the fault ring of session ", session_->id(),
                       " is refused after a defect: ", broken.message()));
    }
    ring_ = ring;
    ring_generation_ = open.fault_ring_generation();
    RingReader::Callbacks callbacks;
    callbacks.release = [this](const std::vector<uint32_t>& slots) {
      slots_->Release(slots);
    };
    callbacks.fault = [this](const v1::FaultRequest& fault) {
      StartFault(fault);
    };
    callbacks.may_take = [this](const std::function<void()>& resume) {
      return processor_.MayTake(session_, resume);
    };
    callbacks.broken = [this](const absl::Status& why) {
      std::fprintf(stderr, "broker: session %s: %s\n", session_->id().c_str(),
                   why.ToString().c_str());
      writer_->Fail(processor_.Refuse(session_, why));
    };
    // The reader's thread keeps the session, and so its ring, alive.
    ring_reader_ = std::make_unique<RingReader>(
        std::shared_ptr<SessionRing>(session_, ring), ring_generation_,
        std::move(callbacks));
    return absl::OkStatus();
  }

  void StartFault(const v1::FaultRequest& fault) {
    writer_->FaultStarted();
    // The session outlives the callback, and with it the staging slots.
    processor_.Process(
        session_, fault,
        [writer = writer_, slots = slots_, session = session_, ring = ring_,
         generation = ring_generation_](v1::FaultAnswer answer) {
          // Staged per delivered answer, after single flight:
          // every answer owns its slots, so each is released
          // exactly once.
          slots->Stage(&answer);
          if (ring != nullptr && ring->PushAnswer(answer, generation)) {
            writer->FaultAnswered();
            return;
          }
          v1::FaultStreamResponse response;
          *response.mutable_answer() = std::move(answer);
          writer->Send(std::move(response));
          writer->FaultAnswered();
        });
  }

  grpc::CallbackServerContext* const context_;
  const Authorizer& authorizer_;
  FaultProcessor& processor_;
  const std::shared_ptr<StreamWriter> writer_;
  // Set by StreamOpen; read only by reactions, which gRPC runs one at a
  // time for reads.
  std::shared_ptr<Session> session_;
  std::shared_ptr<StreamSlots> slots_;
  // Set by a StreamOpen with a fault ring generation.
  SessionRing* ring_ = nullptr;
  uint64_t ring_generation_ = 0;
  std::unique_ptr<RingReader> ring_reader_;
  v1::FaultStreamRequest request_;
};

}  // namespace

FaultStreamReactor* NewFaultStream(grpc::CallbackServerContext* context,
                                   const Authorizer& authorizer,
                                   FaultProcessor& processor) {
  return new FaultStream(context, authorizer, processor);
}

}  // namespace faultline::broker
