// The broker's live device memory pools, by name. A shared pool is one pool
// for every session naming it; a private pool is one per session (its name
// and file carry the session id).
//
// Thread-safe: every method may be called from any thread.
#ifndef FAULTLINE_BROKER_DEVMEM_FRAME_POOL_REGISTRY_H_
#define FAULTLINE_BROKER_DEVMEM_FRAME_POOL_REGISTRY_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/devmem/frame_pool.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

class FramePoolRegistry {
 public:
  explicit FramePoolRegistry(std::string device_memory_dir)
      : dir_(std::move(device_memory_dir)) {}

  // The pool a session's device region uses, created on first use. A shared
  // pool that is live already must agree on frame count and policy
  // (FAILED_PRECONDITION naming both otherwise).
  absl::StatusOr<std::shared_ptr<FramePool>> Acquire(
      const v1::DeviceSource& device, const std::string& session_id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The session no longer uses the pool; the last user drops it.
  void Release(const std::string& pool_name, const std::string& session_id)
      ABSL_LOCKS_EXCLUDED(mu_);

  // A live pool by its shown name ("gpu", or "gpu@<session>" if private).
  std::shared_ptr<FramePool> Find(const std::string& pool_name) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // Frames of a live pool or, for a shared pool nobody uses yet, of its
  // file (created by a write with `create_frame_count`, see WritePoolFile).
  // NOT_FOUND for a name that is neither live nor on file.
  absl::StatusOr<std::string> ReadFrames(const std::string& pool_name,
                                         uint64_t first, uint64_t count) const;
  absl::Status WriteFrames(const std::string& pool_name, uint64_t first,
                           absl::string_view data,
                           uint64_t create_frame_count = 0);

  std::vector<v1::PoolInfo> List() const ABSL_LOCKS_EXCLUDED(mu_);

  // "<dir>/faultline-<pool>" or, private, "<dir>/faultline-<pool>-<session>".
  std::string PathFor(const std::string& pool, const std::string& session_id,
                      bool shared) const;

 private:
  struct Entry {
    std::shared_ptr<FramePool> pool;
    std::set<std::string> session_ids;
  };

  const std::string dir_;
  mutable absl::Mutex mu_;
  std::map<std::string, Entry> pools_ ABSL_GUARDED_BY(mu_);
};

// Pool names go into file names: 1-64 of [A-Za-z0-9._-], not starting '.'.
absl::Status ValidatePoolName(const std::string& pool);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_DEVMEM_FRAME_POOL_REGISTRY_H_
