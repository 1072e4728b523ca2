// A session's staging area: a file of `slot_count` 4 KiB slots in the
// broker's device memory directory, mapped read-write here and read-only by
// a co-located VMM. A page answer is written into a free slot and named by
// its number, so the page's bytes never travel through gRPC; the VMM copies
// the page into the guest straight from the slot and hands the slot back.
//
// Slots are owned per stream epoch: a slot is handed to the epoch of the
// stream whose answer names it and only that epoch may release it. Only the
// newest epoch gets slots. A VMM whose stream ended forgets the slots it
// held, so when an epoch ends (EndEpoch: its stream is over) every slot it
// still holds is free again; never before, since until then a VMM may still
// be reading them.
//
// The file is locked (flock, exclusive) by the broker that created it for as
// long as that broker has it open, so a broker starting later can tell a
// leftover of a killed broker (unlocked) from a live area (locked): see
// staging_sweep.h. SessionStaging (session_staging.h) is the only user: it
// hands slots to answers and takes them back from streams.
//
// Thread-safe: Stage() runs on scheduler workers, Release() and BeginEpoch()
// on the stream reactor, slots_held() is read by admin calls.
#ifndef FAULTLINE_BROKER_STAGING_STAGING_AREA_H_
#define FAULTLINE_BROKER_STAGING_STAGING_AREA_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "proto/base/unique_fd.h"
#include "proto/faultline/v1/broker.pb.h"
#include "proto/faultline/v1/fault_ring.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {

// A slot holds one page.
inline constexpr uint32_t kStagingSlotBytes = v1::wire::kPageBytes;
// The most slots one area may have (1 GiB of slots).
inline constexpr uint32_t kMaxStagingSlots = 1u << 18;

class StagingArea {
 public:
  // Creates `path` (it must not exist; mode 0600), locks it, sizes it to
  // `slot_count` slots (and a fault ring after them, v1::ring::kRingBytes,
  // when `with_ring`) and maps it. INVALID_ARGUMENT for 0 or more than
  // kMaxStagingSlots slots; the errno's status naming the path for a failing
  // call.
  static absl::StatusOr<std::unique_ptr<StagingArea>> Create(
      const std::string& path, uint32_t slot_count, bool with_ring = false);
  // Unmaps the area and removes its file (if RemoveFile has not already).
  ~StagingArea();

  StagingArea(const StagingArea&) = delete;
  StagingArea& operator=(const StagingArea&) = delete;

  const std::string& path() const { return path_; }
  uint32_t slot_count() const { return slot_count_; }
  v1::StagingArea Grant() const;
  // The file becomes `uid`'s; its mode stays 0600, so only that uid (and
  // root) may open it.
  absl::Status GiveTo(uid_t uid, gid_t gid) const;

  // Removes the file now (the session detached); the mapping stays valid
  // for work still in flight. Idempotent.
  void RemoveFile() ABSL_LOCKS_EXCLUDED(mu_);

  // Starts a new stream epoch; older epochs keep their slots until they end
  // but get no more.
  uint64_t BeginEpoch() ABSL_LOCKS_EXCLUDED(mu_);
  // The stream of `epoch` is over: its slots are free, and it stages no
  // more. Idempotent.
  void EndEpoch(uint64_t epoch) ABSL_LOCKS_EXCLUDED(mu_);

  // Copies `page` (kStagingSlotBytes bytes) into a free slot handed to
  // `epoch` and returns the slot; nullopt when no slot is free, `epoch` is
  // not the newest one or has ended, or `page` is not one page (the caller
  // then sends the bytes inline). Never blocks on the VMM. The copy is done
  // before EndEpoch can free the slot again.
  std::optional<uint32_t> Stage(absl::string_view page, uint64_t epoch)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Takes back `slot` from `epoch`. INVALID_ARGUMENT for a slot outside the
  // area, FAILED_PRECONDITION for one `epoch` does not hold (never handed
  // out, released twice, or from an older stream). A refusal changes nothing.
  absl::Status Release(uint32_t slot, uint64_t epoch) ABSL_LOCKS_EXCLUDED(mu_);

  uint32_t slots_held() const ABSL_LOCKS_EXCLUDED(mu_);

  // For tests: the bytes of `slot`.
  absl::string_view SlotBytes(uint32_t slot) const;

  // The fault ring's memory (its header initialized), or null without one;
  // the VMM may write it at any time (broker/staging/session_ring.h).
  char* ring_memory() const { return has_ring_ ? ring_ : nullptr; }

 private:
  StagingArea(std::string path, uint32_t slot_count, bool has_ring,
              UniqueFd file, char* base);

  const std::string path_;
  const uint32_t slot_count_;
  const bool has_ring_;
  const UniqueFd file_;
  char* const base_;
  char* const ring_;  // just past the slots

  mutable absl::Mutex mu_;
  bool file_removed_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;
  bool epoch_ended_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<uint32_t> free_ ABSL_GUARDED_BY(mu_);
  // The epoch holding each slot; 0 when free.
  std::vector<uint64_t> holder_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_STAGING_STAGING_AREA_H_
