// Named page stores that clients fill with PutPages, before or while a VM
// reads them through a StoreSource.
//
// Thread-safe: Put*/Lookup may run concurrently from any thread.
#ifndef FAULTLINE_BROKER_SOURCES_PAGE_STORE_H_
#define FAULTLINE_BROKER_SOURCES_PAGE_STORE_H_

#include <cstdint>
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

namespace faultline::broker {

class PageStore {
 public:
  explicit PageStore(std::string name) : name_(std::move(name)) {}

  PageStore(const PageStore&) = delete;
  PageStore& operator=(const PageStore&) = delete;

  enum class State { kPresent, kMissing, kBeingWritten };
  struct Lookup {
    State state = State::kMissing;
    // Set when state is kPresent; shared so a reader never copies under lock.
    std::shared_ptr<const std::string> page;
  };

  // Marks the pages of [offset, offset + size) as being written. Readers of
  // those pages see kBeingWritten until EndWrite. Offset and size must be
  // page-aligned (INVALID_ARGUMENT otherwise, and nothing changes).
  absl::Status BeginWrite(uint64_t offset, uint64_t size)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Stores `data` (a whole number of pages) at `offset`, which BeginWrite
  // announced, and ends the write.
  void EndWrite(uint64_t offset, absl::string_view data)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Both in one step.
  absl::Status Put(uint64_t offset, absl::string_view data)
      ABSL_LOCKS_EXCLUDED(mu_);

  Lookup Get(uint64_t offset) const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t page_count() const ABSL_LOCKS_EXCLUDED(mu_);
  const std::string& name() const { return name_; }

 private:
  const std::string name_;
  mutable absl::Mutex mu_;
  std::map<uint64_t, std::shared_ptr<const std::string>> pages_
      ABSL_GUARDED_BY(mu_);
  // Pages being written, counted, since two puts may overlap.
  std::map<uint64_t, int> writing_ ABSL_GUARDED_BY(mu_);
};

// The broker's named stores; the first attach or put naming one creates it.
class PageStoreRegistry {
 public:
  std::shared_ptr<PageStore> GetOrCreate(const std::string& name)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<PageStore>> stores_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SOURCES_PAGE_STORE_H_
