// A device memory pool: a file of frame_count 4 KiB frames (frame N at byte
// N * 4096) that VMMs map MAP_SHARED to back their PCI memory device's BAR,
// and the policy that says which frame backs which BAR page.
//
// The broker never maps the frames itself: it reads and writes them with
// pread/pwrite, which tmpfs keeps coherent with every VMM's mapping.
//
// Thread-safe: every method may be called from any thread.
#ifndef FAULTLINE_BROKER_DEVMEM_FRAME_POOL_H_
#define FAULTLINE_BROKER_DEVMEM_FRAME_POOL_H_

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
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

// 1 Mi frames: 4 GiB of device memory per pool.
inline constexpr uint64_t kMaxPoolFrames = 1ull << 20;

class FramePool {
 public:
  struct Options {
    std::string name;  // As shown to people: "gpu" or "gpu@<session>".
    std::string path;
    uint64_t frame_count = 0;
    v1::FramePolicy policy = v1::FRAME_POLICY_IDENTITY;
    v1::Sharing sharing = v1::SHARING_PRIVATE;
    // Unlink the file when the pool goes away (private pools); shared pool
    // files stay, so a restarted broker finds their content.
    bool remove_file_on_destruction = false;
  };

  // Opens or creates the file and sizes it to frame_count frames; an
  // existing file keeps its content (a restarted broker).
  static absl::StatusOr<std::unique_ptr<FramePool>> Create(Options options);
  ~FramePool();

  FramePool(const FramePool&) = delete;
  FramePool& operator=(const FramePool&) = delete;

  // The frame backing BAR page `page_index`. Identity: page mod
  // frame_count. First touch: the page's frame, or a new one from the free
  // list; RESOURCE_EXHAUSTED (with an actionable message) when it is empty.
  absl::StatusOr<uint64_t> FrameFor(uint64_t page_index)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Takes the frame away from BAR page `page_index`; returns it.
  // FAILED_PRECONDITION when the page has no frame. A first-touch frame only
  // returns to the free list on ReleaseRevoked, once the VMM has unmapped it.
  absl::StatusOr<uint64_t> Revoke(uint64_t page_index) ABSL_LOCKS_EXCLUDED(mu_);
  void ReleaseRevoked(uint64_t frame) ABSL_LOCKS_EXCLUDED(mu_);

  // Frame contents; ranges past frame_count are OUT_OF_RANGE.
  absl::StatusOr<std::string> ReadFrames(uint64_t first, uint64_t count) const;
  absl::Status WriteFrames(uint64_t first, absl::string_view data);

  uint64_t frames_in_use() const ABSL_LOCKS_EXCLUDED(mu_);
  // The file's owner; GiveTo makes it `uid` (mode stays 0600: only that uid
  // and root may open it).
  absl::StatusOr<uid_t> FileOwner() const;
  absl::Status GiveTo(uid_t uid, gid_t gid) const;
  const Options& options() const { return options_; }

 private:
  FramePool(Options options, UniqueFd fd);
  absl::Status CheckRange(uint64_t first, uint64_t count) const;

  const Options options_;
  const UniqueFd fd_;

  mutable absl::Mutex mu_;
  std::map<uint64_t, uint64_t> page_to_frame_ ABSL_GUARDED_BY(mu_);
  // How many BAR pages each frame backs (identity aliases frames).
  std::vector<uint32_t> frame_users_ ABSL_GUARDED_BY(mu_);
  uint64_t frames_in_use_ ABSL_GUARDED_BY(mu_) = 0;
  // First touch: frames nobody holds, taken from the front.
  std::deque<uint64_t> free_frames_ ABSL_GUARDED_BY(mu_);
  // First touch: revoked frames the VMM has not yet confirmed unmapped.
  std::set<uint64_t> revoking_ ABSL_GUARDED_BY(mu_);
};

// Reads and writes frames of a pool file nobody has attached yet (a host
// preparing device memory before boot), inside the file's size: NOT_FOUND
// for a file that does not exist, OUT_OF_RANGE past its frames. A write
// with `create_frame_count` (at most kMaxPoolFrames) creates a missing file
// of that many frames first; 0 never creates.
absl::StatusOr<std::string> ReadPoolFile(const std::string& path,
                                         uint64_t first, uint64_t count);
absl::Status WritePoolFile(const std::string& path, uint64_t first,
                           absl::string_view data,
                           uint64_t create_frame_count = 0);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_DEVMEM_FRAME_POOL_H_
