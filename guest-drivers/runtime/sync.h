// SMP primitives for guest code: every vCPU starts at once (proto/guest_abi.h),
// so payloads coordinate with these rather than by starting vCPUs one by one.
// Portable: built for the host in tests as well.
#ifndef FAULTLINE_GUEST_DRIVERS_RUNTIME_SYNC_H_
#define FAULTLINE_GUEST_DRIVERS_RUNTIME_SYNC_H_

#include <stdint.h>

namespace faultline::guest {

inline void SpinPause() {
#if defined(__x86_64__)
  asm volatile("pause" ::: "memory");
#endif
}

inline uint64_t AtomicLoad(const uint64_t* value) {
  return __atomic_load_n(value, __ATOMIC_ACQUIRE);
}
inline void AtomicStore(uint64_t* value, uint64_t new_value) {
  __atomic_store_n(value, new_value, __ATOMIC_RELEASE);
}
// Returns the value after the addition.
inline uint64_t AtomicAdd(uint64_t* value, uint64_t delta) {
  return __atomic_add_fetch(value, delta, __ATOMIC_ACQ_REL);
}

// A test-and-test-and-set lock. Constant-initialized: safe as a global with no
// constructor run.
class Spinlock {
 public:
  constexpr Spinlock() = default;
  Spinlock(const Spinlock&) = delete;
  Spinlock& operator=(const Spinlock&) = delete;

  void Lock() {
    while (__atomic_exchange_n(&locked_, true, __ATOMIC_ACQUIRE)) {
      while (__atomic_load_n(&locked_, __ATOMIC_RELAXED)) SpinPause();
    }
  }
  // Gives up after `max_spins` checks of a held lock.
  bool TryLockFor(uint64_t max_spins) {
    for (uint64_t spins = 0; spins < max_spins; ++spins) {
      if (!__atomic_exchange_n(&locked_, true, __ATOMIC_ACQUIRE)) return true;
      SpinPause();
    }
    return false;
  }
  void Unlock() { __atomic_store_n(&locked_, false, __ATOMIC_RELEASE); }

 private:
  bool locked_ = false;
};

class SpinlockGuard {
 public:
  explicit SpinlockGuard(Spinlock& lock) : lock_(lock) { lock_.Lock(); }
  ~SpinlockGuard() { lock_.Unlock(); }
  SpinlockGuard(const SpinlockGuard&) = delete;
  SpinlockGuard& operator=(const SpinlockGuard&) = delete;

 private:
  Spinlock& lock_;
};

// A reusable sense-reversing barrier for a fixed number of participants.
// Wait() returns once all `participants` have called it in this round.
class Barrier {
 public:
  constexpr Barrier() = default;
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  // Must be called once, before any vCPU waits (vCPU 0 at startup does it
  // before releasing the others).
  void Reset(uint32_t participants) {
    participants_ = participants;
    __atomic_store_n(&arrived_, 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&round_, 0u, __ATOMIC_RELEASE);
  }

  void Wait() {
    const uint32_t round = __atomic_load_n(&round_, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&arrived_, 1u, __ATOMIC_ACQ_REL) == participants_) {
      __atomic_store_n(&arrived_, 0u, __ATOMIC_RELAXED);
      __atomic_store_n(&round_, round + 1, __ATOMIC_RELEASE);
      return;
    }
    while (__atomic_load_n(&round_, __ATOMIC_ACQUIRE) == round) SpinPause();
  }

 private:
  uint32_t participants_ = 1;
  uint32_t arrived_ = 0;
  uint32_t round_ = 0;
};

}  // namespace faultline::guest

#endif  // FAULTLINE_GUEST_DRIVERS_RUNTIME_SYNC_H_
