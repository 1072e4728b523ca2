// The one owner of a session's staging slots: the only code that stages an
// answer's pages into slots and takes slots back from the VMM.
//
// SessionStaging is the session's part: its area (when granted), its
// counters, and the broker-wide counters it adds to. StreamSlots is one
// Faults stream's hold on the area: answers are staged into slots of the
// newest stream only, only the stream that carried a slot may release it,
// and when a stream is over (End) the slots it held are free again (its
// VMM dropped them). A session without an area still has a SessionStaging:
// its releases are refused.
//
// Threading: SessionStaging is thread-safe. A StreamSlots is shared between
// its stream's reactor and fault ring reader (Release) and the workers that
// deliver answers (Stage, any thread).
#ifndef FAULTLINE_BROKER_STAGING_SESSION_STAGING_H_
#define FAULTLINE_BROKER_STAGING_SESSION_STAGING_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "broker/staging/session_ring.h"
#include "broker/staging/staging_area.h"
#include "broker/staging/staging_counters.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

class StreamSlots;

class SessionStaging {
 public:
  // A session's area in `dir` (StagingFilePath) with `slot_count` slots,
  // and a fault ring when `with_ring`.
  static absl::StatusOr<std::unique_ptr<StagingArea>> CreateArea(
      const std::string& dir, const std::string& session_id,
      uint32_t slot_count, bool with_ring = false);

  // `area` is null when the session was granted none. `broker_totals`, when
  // given, outlives the session and counts every session's staging.
  SessionStaging(std::string session_id, std::unique_ptr<StagingArea> area,
                 StagingTotals* broker_totals);

  SessionStaging(const SessionStaging&) = delete;
  SessionStaging& operator=(const SessionStaging&) = delete;

  // A new Faults stream of the session. It must not outlive this object.
  std::shared_ptr<StreamSlots> OpenStream();

  // Null when no area was granted.
  const StagingArea* area() const { return area_.get(); }
  // The fault ring in the area; null when none was granted.
  SessionRing* ring() const { return ring_.get(); }
  // The session's counters since attach, with the area's slot_count and
  // slots_held when it has one.
  void ToProto(v1::StagingCounters* out) const;
  // The session detached: the area's file goes (the mapping stays for
  // answers still in flight).
  void RemoveFile();

 private:
  friend class StreamSlots;

  const std::string session_id_;
  const std::unique_ptr<StagingArea> area_;
  const std::unique_ptr<SessionRing> ring_;
  StagingTotals* const broker_totals_;
  StagingTotals session_totals_;
};

class StreamSlots {
 public:
  StreamSlots(SessionStaging& staging, uint64_t epoch)
      : staging_(staging), epoch_(epoch) {}

  // Takes back `slots` that the VMM released on this stream. A bad release
  // (outside the area, not held by this stream, no area) is refused,
  // counted, logged to stderr for the first few of the stream, and ignored.
  void Release(absl::Span<const uint32_t> slots);

  // Moves the page bytes of `answer` (page and extra pages) into free slots
  // of this stream, per delivered answer, so every answer owns its slots; a
  // page with no free slot, or of a stream that is no longer the newest or
  // has ended, stays inline. Counted; nothing without an area.
  void Stage(v1::FaultAnswer* answer) const;

  // The stream is over: the slots it holds are free. Idempotent.
  void End();

 private:
  SessionStaging& staging_;
  const uint64_t epoch_;
  // Releases come from the stream's reads and its fault ring's reader.
  std::atomic<int> refused_{0};
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_STAGING_SESSION_STAGING_H_
