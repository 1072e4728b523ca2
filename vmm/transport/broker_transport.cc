#include "vmm/transport/broker_transport.h"

#include <algorithm>
#include <cstdio>
#include <utility>

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
                                 StreamWriter* writer)
    : options_(std::move(options)),
      listener_(listener),
      writer_(writer),
      session_(SessionOptions(options_)) {}

absl::StatusOr<std::unique_ptr<BrokerTransport>> BrokerTransport::Connect(
    Options options, Listener* listener, StreamWriter* writer) {
  const absl::Time deadline = absl::Now() + options.attach_deadline;
  std::unique_ptr<BrokerTransport> transport(
      new BrokerTransport(std::move(options), listener, writer));
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
      generation = ++generation_;
    }
  }
  if (generation != 0) {
    writer_->Open(stream.get(), generation);
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
  writer_->Close();
  {
    absl::MutexLock lock(&mutex_);
    context_ = nullptr;
  }
  absl::Status status = ToAbslStatus(stream->Finish());
  if (status.ok()) {
    status = absl::UnavailableError("the broker ended the fault stream");
  }
  return status;
}

BrokerTransport::Health BrokerTransport::health() const {
  absl::MutexLock lock(&mutex_);
  return Health{writer_->open(), last_error_};
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
