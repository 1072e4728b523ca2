#include "vmm/transport/stream_writer.h"

#include <cstdio>
#include <vector>

namespace faultline::vmm {

void StreamWriter::Open(BrokerSession::Stream* stream, uint64_t generation,
                        FaultRing* ring) {
  absl::MutexLock lock(&mutex_);
  stream_ = stream;
  generation_ = generation;
  ring_ = ring;
}

void StreamWriter::Close() {
  {
    absl::MutexLock lock(&mutex_);
    stream_ = nullptr;
    ring_ = nullptr;
  }
  // Waits out a writer that still holds the old stream.
  absl::MutexLock write_lock(&write_mutex_);
}

bool StreamWriter::open() const {
  absl::MutexLock lock(&mutex_);
  return stream_ != nullptr;
}

uint64_t StreamWriter::Send(const v1::FaultStreamRequest& request) {
  absl::MutexLock write_lock(&write_mutex_);
  return SendLocked(request);
}

void StreamWriter::FlushReleases(bool wait) {
  if (!slots_->has_pending_releases()) return;
  if (wait) {
    Send(v1::FaultStreamRequest());
  } else if (write_mutex_.TryLock()) {
    SendLocked(v1::FaultStreamRequest());
    write_mutex_.Unlock();
  }
}

uint64_t StreamWriter::SendLocked(const v1::FaultStreamRequest& request) {
  BrokerSession::Stream* stream;
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
    const std::vector<uint32_t> releases = slots_->TakeReleases(generation);
    if (ring_ != nullptr && SendOnRing(ring_, generation, request, releases)) {
      return generation;
    }
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

bool StreamWriter::SendOnRing(FaultRing* ring, uint64_t generation,
                              const v1::FaultStreamRequest& request,
                              const std::vector<uint32_t>& releases) {
  const bool fault = request.has_fault();
  if (!fault &&
      request.message_case() != v1::FaultStreamRequest::MESSAGE_NOT_SET) {
    return false;  // revocations go on the stream
  }
  if (!fault && releases.empty()) return false;
  // The usual fault carries only the writer's releases: no copy for it.
  std::vector<uint32_t> combined;
  if (request.released_staging_slots_size() > 0) {
    combined = releases;
    combined.insert(combined.end(), request.released_staging_slots().begin(),
                    request.released_staging_slots().end());
  }
  absl::StatusOr<bool> sent = ring->Send(
      generation, fault ? &request.fault() : nullptr,
      request.released_staging_slots_size() > 0 ? combined : releases);
  if (!sent.ok()) {
    // The broker's side of the ring is garbage: the transport ends the
    // stream, and its faults are asked again without the ring.
    ring->Break(sent.status());
    ring_ = nullptr;
    return false;
  }
  return *sent;
}

}  // namespace faultline::vmm
