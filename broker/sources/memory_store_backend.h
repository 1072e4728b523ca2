// The embedded store backend: named stores in the broker's own memory
// (PageStoreRegistry), gone when the broker stops. Nothing to install, and
// nothing waits: every call is a lock and a copy.
//
// Thread-safe: reads run concurrently; writes and deletes run one at a time,
// so that the limits count exactly what the stores hold.
#ifndef FAULTLINE_BROKER_SOURCES_MEMORY_STORE_BACKEND_H_
#define FAULTLINE_BROKER_SOURCES_MEMORY_STORE_BACKEND_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/sources/page_store.h"
#include "broker/sources/store_backend.h"

namespace faultline::broker {

class MemoryStoreBackend : public StoreBackend {
 public:
  explicit MemoryStoreBackend(StoreLimits limits = StoreLimits())
      : limits_(limits) {}

  std::string Describe() const override { return "memory"; }
  const StoreLimits& limits() const override { return limits_; }
  bool MayBlock() const override { return false; }
  std::vector<StorePage> Read(absl::string_view store, uint64_t offset,
                              uint32_t count, absl::Time deadline) override;
  absl::Status Write(absl::string_view store, uint64_t offset,
                     absl::string_view data, absl::Time deadline) override
      ABSL_LOCKS_EXCLUDED(write_mu_);
  absl::StatusOr<uint64_t> Delete(absl::string_view store,
                                  absl::Time deadline) override
      ABSL_LOCKS_EXCLUDED(write_mu_);
  absl::StatusOr<std::vector<StoreInfo>> List(absl::Time deadline) override;

  // The stores themselves, for tests that hold a write open.
  PageStoreRegistry& stores() { return stores_; }

 private:
  const StoreLimits limits_;
  PageStoreRegistry stores_;
  absl::Mutex write_mu_;
  // Pages in every store, as written through this backend.
  uint64_t total_pages_ ABSL_GUARDED_BY(write_mu_) = 0;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SOURCES_MEMORY_STORE_BACKEND_H_
