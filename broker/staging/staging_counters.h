// Staging counters: pages sent in a slot, pages of staging sessions sent
// inline (no slot was free), refused slot releases. Kept per session (since
// attach) and broker-wide (every session since start).
//
// Thread-safe: relaxed atomics, added to from workers and reactors.
#ifndef FAULTLINE_BROKER_STAGING_STAGING_COUNTERS_H_
#define FAULTLINE_BROKER_STAGING_STAGING_COUNTERS_H_

#include <atomic>
#include <cstdint>

#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

// How the pages of one answer went: in slots or inline.
struct StagedPages {
  uint64_t staged = 0;
  uint64_t inlined = 0;
};

struct StagingTotals {
  void Add(const StagedPages& pages);
  void AddRefusedRelease();
  // Fills the three counters; slot_count and slots_held are left alone.
  void ToProto(v1::StagingCounters* out) const;

  // Pages sent as a slot number.
  std::atomic<uint64_t> staged_pages{0};
  // Pages of staging sessions sent inline because no slot was free.
  std::atomic<uint64_t> inline_pages{0};
  // Releases refused: out of range, not held, or no staging area.
  std::atomic<uint64_t> refused_releases{0};
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_STAGING_STAGING_COUNTERS_H_
