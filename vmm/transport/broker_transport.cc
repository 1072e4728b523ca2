#include "vmm/transport/broker_transport.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "proto/base/grpc_status.h"
#include "proto/base/status_macros.h"

namespace faultline::vmm {
namespace {

BrokerSession::Options SessionOptions(const BrokerTransport::Options& options) {
  BrokerSession::Options session = options.session;
  session.want_staging = options.staging == BrokerTransport::Staging::kAuto &&
                         absl::StartsWith(session.target, "unix:");
  return session;
}

}  // namespace

BrokerTransport::BrokerTransport(Options options, Listener* listener,
                                 StagingSlots* slots)
    : options_(std::move(options)),
      listener_(listener),
      slots_(slots),
      session_(SessionOptions(options_)) {}

absl::StatusOr<std::unique_ptr<BrokerTransport>> BrokerTransport::Connect(
    Options options, Listener* listener, StagingSlots* slots) {
  const absl::Time deadline = absl::Now() + options.attach_deadline;
  std::unique_ptr<BrokerTransport> transport(
      new BrokerTransport(std::move(options), listener, slots));
  RETURN_IF_ERROR(transport->AttachUntil(deadline));
  transport->stream_thread_ =
      std::thread([t = transport.get()] { t->StreamLoop(); });
  return transport;
}

BrokerTransport::~BrokerTransport() { Shutdown(); }

absl::Status BrokerTransport::AttachUntil(absl::Time deadline) {
  return session_.AttachUntil(
      deadline,
      [this](const v1::AttachResponse& response) {
        return listener_->OnAttached(response);
      },
      [this](absl::Duration delay) { return SleepUnlessShutdown(delay); });
}

void BrokerTransport::StreamLoop() {
  absl::Duration backoff = options_.session.initial_backoff;
  for (;;) {
    {
      absl::MutexLock lock(&mutex_);
      if (shutdown_) return;
    }
    absl::Status ended;
    if (!session_.attached()) {
      ended = AttachUntil(absl::Now() + absl::Seconds(2));
    }
    bool opened = false;
    if (ended.ok()) {
      bool answered = false;
      ended = RunStream(&opened, &answered);
      // A stream that carried answers proves the session was good; the next
      // one starts without a long backoff.
      if (answered) backoff = options_.session.initial_backoff;
    }
    {
      absl::MutexLock lock(&mutex_);
      if (shutdown_) return;
      last_error_ = ended.ToString();
    }
    if (BrokerSession::SessionGone(ended.code())) session_.Forget();
    if (opened) {
      std::fprintf(stderr, "vmm: broker stream lost, reconnecting: %s\n",
                   ended.ToString().c_str());
    }
    if (!SleepUnlessShutdown(backoff)) return;
    backoff = std::min(backoff * 2, options_.session.max_backoff);
  }
}

absl::Status BrokerTransport::RunStream(bool* opened, bool* answered) {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = session_.OpenStream(&context, opened);
  uint64_t generation = 0;
  if (*opened) {
    absl::MutexLock lock(&mutex_);
    if (shutdown_) {
      context.TryCancel();
      *opened = false;
    } else {
      context_ = &context;
      stream_ = stream.get();
      generation = ++generation_;
    }
  }
  if (generation != 0) {
    listener_->OnStreamOpen(generation);
    v1::FaultStreamResponse response;
    while (stream->Read(&response)) {
      *answered = true;
      switch (response.message_case()) {
        case v1::FaultStreamResponse::kAnswer:
          listener_->OnAnswer(response.answer());
          break;
        case v1::FaultStreamResponse::kRevocation:
          listener_->OnRevocation(response.revocation());
          break;
        case v1::FaultStreamResponse::MESSAGE_NOT_SET:
          break;
      }
    }
  }
  {
    absl::MutexLock lock(&mutex_);
    stream_ = nullptr;
    context_ = nullptr;
  }
  // Waits out a writer that still holds the old stream.
  { absl::MutexLock write_lock(&write_mutex_); }
  absl::Status status = ToAbslStatus(stream->Finish());
  if (status.ok()) {
    status = absl::UnavailableError("the broker ended the fault stream");
  }
  return status;
}

uint64_t BrokerTransport::Send(const v1::FaultStreamRequest& request) {
  absl::MutexLock write_lock(&write_mutex_);
  return SendLocked(request);
}

uint64_t BrokerTransport::SendLocked(const v1::FaultStreamRequest& request) {
  Stream* stream;
  uint64_t generation;
  v1::FaultStreamRequest with_releases;
  const v1::FaultStreamRequest* message = &request;
  {
    absl::MutexLock lock(&mutex_);
    if (stream_ == nullptr) return 0;
    stream = stream_;
    generation = generation_;
    // Taken under the lock that names the stream: releases only ever go
    // out on the stream whose answers named the slots.
    std::vector<uint32_t> releases = slots_->TakeReleases(generation);
    if (!releases.empty()) {
      with_releases = request;
      for (uint32_t slot : releases) {
        with_releases.add_released_staging_slots(slot);
      }
      message = &with_releases;
    } else if (request.message_case() ==
                   v1::FaultStreamRequest::MESSAGE_NOT_SET &&
               request.released_staging_slots_size() == 0) {
      return generation;  // a flush that found nothing left to send
    }
  }
  return stream->Write(*message) ? generation : 0;
}

void BrokerTransport::FlushReleases(bool wait) {
  if (!slots_->has_pending_releases()) return;
  if (wait) {
    Send(v1::FaultStreamRequest());
  } else if (write_mutex_.TryLock()) {
    SendLocked(v1::FaultStreamRequest());
    write_mutex_.Unlock();
  }
}

BrokerTransport::Health BrokerTransport::health() const {
  absl::MutexLock lock(&mutex_);
  return Health{stream_ != nullptr, last_error_};
}

bool BrokerTransport::SleepUnlessShutdown(absl::Duration delay) {
  absl::MutexLock lock(&mutex_);
  mutex_.AwaitWithTimeout(absl::Condition(&shutdown_), delay);
  return !shutdown_;
}

void BrokerTransport::Shutdown() {
  {
    absl::MutexLock lock(&mutex_);
    if (shutdown_) return;
    shutdown_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  if (stream_thread_.joinable()) stream_thread_.join();
  (void)session_.Detach(absl::Seconds(1));  // the outcome changes nothing
}

}  // namespace faultline::vmm
