// A VM's working set on file: the RAM pages one run brought in for its
// guest (each faulting page, then the pages prefetched with it), in the
// order they were installed, so a later run from the same memory source can
// install them ahead of the guest (background_fill.h), as REAP does for
// Firecracker. The file is text, one page a line after a header:
//
//   faultline-working-set v1
//   <region id> <page offset in the region, hex>
//
// Threading: WorkingSetRecorder's methods may be called from any thread;
// ReadWorkingSet is a plain function.
#ifndef FAULTLINE_VMM_FAULT_WORKING_SET_H_
#define FAULTLINE_VMM_FAULT_WORKING_SET_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::vmm {

struct WorkingSetPage {
  uint32_t region_id = 0;
  uint64_t offset = 0;  // page-aligned, inside the region

  bool operator==(const WorkingSetPage& other) const {
    return region_id == other.region_id && offset == other.offset;
  }
};

inline constexpr char kWorkingSetHeader[] = "faultline-working-set v1";

// Reads and checks a working set file against the VM's regions: every page
// must be page-aligned inside a RAM region. Errors name the file and line.
absl::StatusOr<std::vector<WorkingSetPage>> ReadWorkingSet(
    const std::string& path, const std::vector<v1::Region>& regions);

class WorkingSetRecorder {
 public:
  // Creates (or truncates) `path` now, so a bad path fails at start.
  static absl::StatusOr<std::unique_ptr<WorkingSetRecorder>> Create(
      const std::string& path);

  WorkingSetRecorder(const WorkingSetRecorder&) = delete;
  WorkingSetRecorder& operator=(const WorkingSetRecorder&) = delete;

  // A page installed for the guest; later sightings of a page are dropped.
  void Record(uint32_t region_id, uint64_t offset) ABSL_LOCKS_EXCLUDED(mutex_);
  // Writes the pages recorded so far, in order (the whole file again).
  absl::Status Write() ABSL_LOCKS_EXCLUDED(mutex_);
  size_t size() const ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  explicit WorkingSetRecorder(std::string path) : path_(std::move(path)) {}

  const std::string path_;
  mutable absl::Mutex mutex_;
  std::vector<WorkingSetPage> pages_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_set<uint64_t> seen_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_WORKING_SET_H_
