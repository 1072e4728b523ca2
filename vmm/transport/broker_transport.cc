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
  session.want_fault_ring = session.want_staging && options.fault_ring;
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
        absl::MutexLock lock(&listener_mutex_);
        RETURN_IF_ERROR(listener_->OnAttached(response));
        UseRing(response);
        return absl::OkStatus();
      },
      [this](absl::Duration delay) { return SleepUnlessShutdown(delay); });
}

void BrokerTransport::StreamLoop() {
  absl::Duration backoff = options_.session.initial_backoff;
  // Whether the session was lost and attached again without a pause since
  // the last stream that carried answers (at most once: a broker that keeps
  // refusing is asked with backoff).
  bool reattached_at_once = false;
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
      if (answered) {
        backoff = options_.session.initial_backoff;
        reattached_at_once = false;
      }
    }
    {
      absl::MutexLock lock(&mutex_);
      if (shutdown_) return;
      last_error_ = ended.ToString();
    }
    const bool session_gone = BrokerSession::SessionGone(ended.code());
    if (session_gone) session_.Forget();
    if (opened) {
      std::fprintf(stderr, "vmm: broker stream lost, reconnecting: %s\n",
                   ended.ToString().c_str());
    }
    // A broker that answers but no longer knows the session (it restarted)
    // is up: attach again now, not after the backoff the outage grew.
    if (session_gone && !reattached_at_once) {
      reattached_at_once = true;
      continue;
    }
    if (!WaitForBrokerUnlessShutdown(backoff)) return;
    backoff = std::min(backoff * 2, options_.session.max_backoff);
  }
}

void BrokerTransport::UseRing(const v1::AttachResponse& response) {
  ring_.reset();
  if (!options_.fault_ring || !response.has_staging() ||
      !response.staging().has_fault_ring()) {
    return;
  }
  absl::StatusOr<std::unique_ptr<FaultRing>> ring =
      FaultRing::Map(response.staging());
  if (!ring.ok()) {
    std::fprintf(stderr, "vmm: no fault ring: %s\n",
                 ring.status().ToString().c_str());
    return;
  }
  ring_ = *std::move(ring);
}

void BrokerTransport::RingLoop(FaultRing* ring, uint64_t generation,
                               const std::atomic<bool>* stop,
                               grpc::ClientContext* context) {
  constexpr absl::Duration kSleep = absl::Milliseconds(10);
  while (!stop->load()) {
    if (absl::Status broken = ring->broken(); !broken.ok()) {
      std::fprintf(stderr, "vmm: fault ring no longer used: %s\n",
                   broken.ToString().c_str());
      context->TryCancel();  // its faults are asked again without it
      return;
    }
    uint64_t answer_generation = 0;
    absl::StatusOr<std::optional<v1::FaultAnswer>> answer =
        ring->TakeAnswer(&answer_generation);
    if (!answer.ok()) {
      ring->Break(answer.status());
      continue;
    }
    if (!answer->has_value()) {
      ring->Wait(options_.fault_ring_spin, kSleep);
      continue;
    }
    // Another stream's answer: its slots are not this stream's.
    if (answer_generation != generation) continue;
    absl::MutexLock lock(&listener_mutex_);
    listener_->OnAnswer(**answer);
  }
}

absl::Status BrokerTransport::RunStream(bool* opened, bool* answered) {
  grpc::ClientContext context;
  FaultRing* ring =
      ring_ != nullptr && ring_->broken().ok() ? ring_.get() : nullptr;
  uint64_t next_generation;
  {
    absl::MutexLock lock(&mutex_);
    next_generation = generation_ + 1;  // only this thread counts streams
  }
  std::unique_ptr<Stream> stream = session_.OpenStream(
      &context, opened, ring != nullptr ? next_generation : 0);
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
    writer_->Open(stream.get(), generation, ring);
    {
      absl::MutexLock lock(&listener_mutex_);
      listener_->OnStreamOpen(generation);
    }
    std::atomic<bool> ring_stop{false};
    std::thread ring_thread;
    if (ring != nullptr) {
      ring_thread = std::thread([this, ring, generation, &ring_stop, &context] {
        RingLoop(ring, generation, &ring_stop, &context);
      });
    }
    v1::FaultStreamResponse response;
    while (stream->Read(&response)) {
      *answered = true;
      absl::MutexLock lock(&listener_mutex_);
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
    // No answer of this stream is handled once the next one may open: the
    // broker hands this stream's slots to the next.
    if (ring_thread.joinable()) {
      ring_stop.store(true);
      ring->Wake();
      ring_thread.join();
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
  // A broker that refuses the ring (it has none, or found a defect in it):
  // the next streams go without it.
  if (ring != nullptr && absl::IsFailedPrecondition(status)) {
    ring->Break(status);
  }
  return status;
}

BrokerTransport::Health BrokerTransport::health() const {
  absl::MutexLock lock(&mutex_);
  return Health{writer_->open(), last_error_};
}

bool BrokerTransport::WaitForBrokerUnlessShutdown(absl::Duration delay) {
  bool already = false;
  // A broker that was unreachable and is back is asked again at once; one
  // that is reachable and refused is asked again after `delay`.
  if (session_.AwaitConnected(delay, &already) && already) {
    return SleepUnlessShutdown(delay);
  }
  absl::MutexLock lock(&mutex_);
  return !shutdown_;
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
