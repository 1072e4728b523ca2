// A session's staging area: a file of `slot_count` 4 KiB slots in the
// broker's device memory directory, mapped read-write here and read-only by
// a co-located VMM. A page answer is written into a free slot and named by
// its number, so the page's bytes never travel through gRPC; the VMM copies
// the page into the guest straight from the slot and hands the slot back.
//
// Slots are owned per stream epoch: a VMM whose stream broke forgets the
// slots it held, so a new stream (BeginEpoch) frees every slot, and a slot is
// only released by the epoch it was handed to.
//
// The file is locked (flock, exclusive) by the broker that created it for as
// long as that broker has it open, so a broker starting later can tell a
// leftover of a killed broker (unlocked) from a live area (locked): see
// SweepLeftoverStagingFiles.
//
// Thread-safe: Stage() runs on scheduler workers, Release() and BeginEpoch()
// on the stream reactor, counters are read by admin calls.
#ifndef FAULTLINE_BROKER_STAGING_STAGING_AREA_H_
#define FAULTLINE_BROKER_STAGING_STAGING_AREA_H_

#include <atomic>
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

namespace faultline::broker {

inline constexpr uint32_t kStagingSlotBytes = 4096;
// The most slots one area may have (1 GiB of slots).
inline constexpr uint32_t kMaxStagingSlots = 1u << 18;

// How the pages of one answer went: in slots or inline.
struct StagedPages {
  uint64_t staged = 0;
  uint64_t inlined = 0;
};

// Staging counters, kept per session (since attach) and broker-wide (every
// session since start).
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

// `dir`/faultline-staging-<session_id>@<pid>, pid being this process's. The
// '@' cannot appear in a frame pool file's name, and marks files created
// under the lock protocol above.
std::string StagingFilePath(absl::string_view dir,
                            absl::string_view session_id);

// Removes the staging files in `dir` that no live process holds: files
// named as StagingFilePath names them, of any pid, whose lock can be taken
// and which have their full size (a file being created has size 0 until its
// creator holds the lock). Files of live brokers, files of other names and
// files it cannot open are left alone. Returns how many it removed; an error
// only when `dir` cannot be read.
absl::StatusOr<int> SweepLeftoverStagingFiles(const std::string& dir);

class StagingArea {
 public:
  // Creates `path` (it must not exist; mode 0600), locks it, sizes it to
  // `slot_count` slots and maps it. INVALID_ARGUMENT for 0 or more than
  // kMaxStagingSlots slots; the errno's status naming the path for a failing
  // call.
  static absl::StatusOr<std::unique_ptr<StagingArea>> Create(
      const std::string& path, uint32_t slot_count);
  // Unmaps the area and removes its file (if RemoveFile has not already).
  ~StagingArea();

  StagingArea(const StagingArea&) = delete;
  StagingArea& operator=(const StagingArea&) = delete;

  const std::string& path() const { return path_; }
  uint32_t slot_count() const { return slot_count_; }
  v1::StagingArea Grant() const;

  // Removes the file now (the session detached); the mapping stays valid
  // for work still in flight. Idempotent.
  void RemoveFile() ABSL_LOCKS_EXCLUDED(mu_);

  // Starts a new stream epoch: every slot handed out before is free again.
  uint64_t BeginEpoch() ABSL_LOCKS_EXCLUDED(mu_);

  // Copies `page` (kStagingSlotBytes bytes) into a free slot handed to
  // `epoch` and returns the slot; nullopt when no slot is free, `epoch` is
  // not the current one or `page` is not one page (the caller then sends
  // the bytes inline). Never blocks on the VMM.
  std::optional<uint32_t> Stage(absl::string_view page, uint64_t epoch)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Takes back `slot` from `epoch`. INVALID_ARGUMENT for a slot outside the
  // area, FAILED_PRECONDITION for one `epoch` does not hold (never handed
  // out, released twice, or from an older stream). A refusal changes nothing.
  absl::Status Release(uint32_t slot, uint64_t epoch) ABSL_LOCKS_EXCLUDED(mu_);

  uint32_t slots_held() const ABSL_LOCKS_EXCLUDED(mu_);

  // For tests: the bytes of `slot`.
  absl::string_view SlotBytes(uint32_t slot) const;

 private:
  StagingArea(std::string path, uint32_t slot_count, UniqueFd file, char* base);

  const std::string path_;
  const uint32_t slot_count_;
  const UniqueFd file_;
  char* const base_;

  mutable absl::Mutex mu_;
  bool file_removed_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<uint32_t> free_ ABSL_GUARDED_BY(mu_);
  // The epoch holding each slot; 0 when free.
  std::vector<uint64_t> holder_ ABSL_GUARDED_BY(mu_);
};

// Moves the page bytes of `answer` (page and extra pages) into slots of
// `area` for stream `epoch`; a page with no free slot stays inline. Returns
// how many pages went each way.
StagedPages StageAnswer(StagingArea& area, uint64_t epoch,
                        v1::FaultAnswer* answer);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_STAGING_STAGING_AREA_H_
