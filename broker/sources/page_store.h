// The in-memory backend's named stores: each a map of pages, filled by
// PutPages before or while a VM reads them through a StoreSource.
//
// Thread-safe: every method may run concurrently from any thread.
#ifndef FAULTLINE_BROKER_SOURCES_PAGE_STORE_H_
#define FAULTLINE_BROKER_SOURCES_PAGE_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
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
  // those pages see kBeingWritten until EndWrite. INVALID_ARGUMENT, and
  // nothing changes, for what ValidateWrite refuses.
  absl::Status BeginWrite(uint64_t offset, uint64_t size)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Stores `data` (a whole number of pages) at `offset`, which BeginWrite
  // announced, and ends the write. Returns how many pages are new.
  uint64_t EndWrite(uint64_t offset, absl::string_view data)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Both in one step.
  absl::Status Put(uint64_t offset, absl::string_view data)
      ABSL_LOCKS_EXCLUDED(mu_);

  Lookup Get(uint64_t offset) const ABSL_LOCKS_EXCLUDED(mu_);
  // Pages of [offset, offset + size) that hold nothing yet.
  uint64_t MissingPages(uint64_t offset, uint64_t size) const
      ABSL_LOCKS_EXCLUDED(mu_);
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

// The named stores, by name. A store is created by the first put into it
// and removed whole.
class PageStoreRegistry {
 public:
  // Null when no store has that name.
  std::shared_ptr<PageStore> Find(absl::string_view name) const
      ABSL_LOCKS_EXCLUDED(mu_);
  std::shared_ptr<PageStore> GetOrCreate(absl::string_view name)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Takes the store out (readers holding it keep their copy); null if none.
  std::shared_ptr<PageStore> Remove(absl::string_view name)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Every store, by name.
  std::vector<std::shared_ptr<PageStore>> List() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<PageStore>, std::less<>> stores_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SOURCES_PAGE_STORE_H_
