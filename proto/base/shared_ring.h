// One direction of a ring shared with another process (protocol v1's fault
// ring, proto/faultline/v1/fault_ring.h): a producer and a consumer of
// fixed-size records over memory the other side may write at any time.
// Each side keeps its own index here and only publishes it; the other
// side's index is read once per call and checked, records are copied out
// before anyone looks at them, and every slot written is its own index
// modulo the capacity, so a peer writing garbage can make a call fail but
// never make this side read or write outside the ring.
//
// Doorbell: a consumer with nothing to read sets the producer index's
// `waiting` flag and sleeps on the index word (FUTEX_WAIT, shared, bounded);
// a producer that publishes and sees the flag wakes it.
//
// Threading: one thread at a time per producer and per consumer (callers
// lock); Wake() from any thread.
#ifndef FAULTLINE_PROTO_BASE_SHARED_RING_H_
#define FAULTLINE_PROTO_BASE_SHARED_RING_H_

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/fault_ring.h"

namespace faultline {

inline uint32_t LoadShared(const uint32_t* word) {
  return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}
inline void StoreShared(uint32_t* word, uint32_t value) {
  __atomic_store_n(word, value, __ATOMIC_RELEASE);
}

// Wakes every thread of any process asleep on `word`.
inline void FutexWake(uint32_t* word) {
  ::syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0);
}

// Sleeps while `*word` is `expected`, at most `timeout`; spurious wakes are
// the caller's to handle.
inline void FutexWait(uint32_t* word, uint32_t expected,
                      absl::Duration timeout) {
  const struct timespec ts = absl::ToTimespec(timeout);
  ::syscall(SYS_futex, word, FUTEX_WAIT, expected, &ts, nullptr, 0);
}

// Whether `far` is within `capacity` records ahead of `near`; indices run
// free and wrap.
inline bool WithinRing(uint32_t near, uint32_t far, uint32_t capacity) {
  return far - near <= capacity;
}

template <typename Record>
class RingProducer {
 public:
  // `records` holds `capacity` records; `tail` is this side's index, `head`
  // the consumer's. The ring starts empty at `start` (the tail's value).
  RingProducer(Record* records, uint32_t capacity, v1::ring::RingIndex* tail,
               const v1::ring::RingIndex* head, uint32_t start)
      : records_(records),
        capacity_(capacity),
        tail_word_(tail),
        head_word_(head),
        tail_(start) {}

  // Records that fit now; an error when the consumer's index is garbage.
  absl::StatusOr<uint32_t> Room() const {
    const uint32_t head = LoadShared(&head_word_->value);
    if (!WithinRing(head, tail_, capacity_)) {
      return absl::DataLossError(absl::StrFormat(
          "ring consumer index %u is not within %u records behind the "
          "producer's %u",
          head, capacity_, tail_));
    }
    return capacity_ - (tail_ - head);
  }

  // Writes `record` (the caller checked Room()); Publish() makes it seen.
  void Put(const Record& record) {
    std::memcpy(&records_[tail_ % capacity_], &record, sizeof(Record));
    ++tail_;
  }

  // Publishes the records Put so far and rings the doorbell if the
  // consumer sleeps.
  void Publish() {
    __atomic_store_n(&tail_word_->value, tail_, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&tail_word_->waiting, __ATOMIC_SEQ_CST) != 0) {
      FutexWake(&tail_word_->value);
    }
  }

 private:
  Record* const records_;
  const uint32_t capacity_;
  v1::ring::RingIndex* const tail_word_;
  const v1::ring::RingIndex* const head_word_;
  uint32_t tail_;
};

template <typename Record>
class RingConsumer {
 public:
  RingConsumer(const Record* records, uint32_t capacity,
               v1::ring::RingIndex* tail, v1::ring::RingIndex* head,
               uint32_t start)
      : records_(records),
        capacity_(capacity),
        tail_word_(tail),
        head_word_(head),
        head_(start) {}

  // Copies the next record into `out`: true when there was one, false when
  // the ring is empty, an error when the producer's index is garbage.
  absl::StatusOr<bool> Take(Record* out) {
    const uint32_t tail = LoadShared(&tail_word_->value);
    if (!WithinRing(head_, tail, capacity_)) {
      return absl::DataLossError(absl::StrFormat(
          "ring producer index %u is not within %u records ahead of the "
          "consumer's %u",
          tail, capacity_, head_));
    }
    if (tail == head_) return false;
    std::memcpy(out, &records_[head_ % capacity_], sizeof(Record));
    ++head_;
    StoreShared(&head_word_->value, head_);
    return true;
  }

  // Waits until the producer publishes past this side's index, `timeout`
  // passes or Wake() is called: first spinning up to `spin`, then asleep.
  void Wait(absl::Duration spin, absl::Duration timeout) {
    const absl::Time spin_end = absl::Now() + spin;
    while (LoadShared(&tail_word_->value) == head_) {
      if (absl::Now() >= spin_end) break;
      __builtin_ia32_pause();
    }
    __atomic_store_n(&tail_word_->waiting, 1, __ATOMIC_SEQ_CST);
    const uint32_t tail = __atomic_load_n(&tail_word_->value, __ATOMIC_SEQ_CST);
    if (tail == head_) FutexWait(&tail_word_->value, tail, timeout);
    __atomic_store_n(&tail_word_->waiting, 0, __ATOMIC_SEQ_CST);
  }

  // Wakes this consumer's Wait, from any thread.
  void Wake() { FutexWake(&tail_word_->value); }

 private:
  const Record* const records_;
  const uint32_t capacity_;
  v1::ring::RingIndex* const tail_word_;
  v1::ring::RingIndex* const head_word_;
  uint32_t head_;
};

}  // namespace faultline

#endif  // FAULTLINE_PROTO_BASE_SHARED_RING_H_
