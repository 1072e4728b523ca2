// Where named page stores keep their pages: in the broker's own memory, or
// in a Redis server or cluster that many brokers share. Faults (StoreSource),
// PutPages and the admin calls (list, delete) go through this interface only,
// so every store call behaves the same on every backend.
//
// Thread-safe: every method may run on many threads at once. No method waits
// past its `deadline` (the in-memory backend never waits at all).
#ifndef FAULTLINE_BROKER_SOURCES_STORE_BACKEND_H_
#define FAULTLINE_BROKER_SOURCES_STORE_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace faultline::broker {

// What stores may hold; 0 means no limit. With a shared backend the limits
// count what the backend holds, whichever broker wrote it.
struct StoreLimits {
  uint64_t store_bytes = 0;   // one store's pages
  uint64_t total_bytes = 0;   // every store's pages together
  uint64_t extent_bytes = 0;  // a put must end at or below this store offset
};

// One page, as a read found it.
struct StorePage {
  enum class State {
    kPresent,       // `data` holds its 4096 bytes
    kMissing,       // nobody put it, or its store was deleted
    kBeingWritten,  // a put that covers it is under way
    // The backend cannot tell now (a node down, a failover, a deadline):
    // ask again. Never used for a page that is known to be missing, and a
    // page that is in the store is never reported missing instead.
    kUnavailable,
  };
  State state = State::kMissing;
  std::shared_ptr<const std::string> data;  // kPresent
  std::string reason;                       // kUnavailable: why, for people
};

struct StoreInfo {
  std::string name;
  uint64_t pages = 0;  // pages present; bytes are pages * 4096
};

class StoreBackend {
 public:
  virtual ~StoreBackend() = default;

  // For people: "memory", "redis cluster 10.0.0.1:7000,... (3 masters)".
  virtual std::string Describe() const = 0;
  virtual const StoreLimits& limits() const = 0;
  // False when calls only touch this process's memory and never wait (the
  // in-memory backend): then they may run on the thread that read a fault.
  virtual bool MayBlock() const { return true; }

  // `count` consecutive pages of `store` from `offset` (page-aligned; count
  // 1 to 65, a fault and its prefetch), fetched together. Always returns
  // `count` entries. A store nobody wrote reads as missing.
  virtual std::vector<StorePage> Read(absl::string_view store, uint64_t offset,
                                      uint32_t count, absl::Time deadline) = 0;

  // Stores `data` (whole pages) at `offset`; while it runs, reads of those
  // pages say kBeingWritten. Returns once the write is durable as the
  // backend promises (its README says how). Errors:
  //  - INVALID_ARGUMENT: a bad store name, offset or size (ValidateWrite);
  //  - RESOURCE_EXHAUSTED: over a limit; nothing was written;
  //  - UNAVAILABLE or DEADLINE_EXCEEDED: the backend failed part way; some
  //    pages may be written, and writing them again is safe.
  virtual absl::Status Write(absl::string_view store, uint64_t offset,
                             absl::string_view data, absl::Time deadline) = 0;

  // Removes the store and every page in it; returns how many pages it held.
  // NOT_FOUND when it holds nothing.
  virtual absl::StatusOr<uint64_t> Delete(absl::string_view store,
                                          absl::Time deadline) = 0;

  // Every store that holds pages, by name.
  virtual absl::StatusOr<std::vector<StoreInfo>> List(absl::Time deadline) = 0;
};

// The checks both backends make, so that both refuse the same things with
// the same words. A store name is 1-128 bytes.
absl::Status ValidateStoreName(absl::string_view name);
// Name, alignment (offset and size whole 4096-byte pages, size > 0), no wrap
// past 2^64, and the extent limit.
absl::Status ValidateWrite(absl::string_view store, uint64_t offset,
                           uint64_t size, const StoreLimits& limits);
// RESOURCE_EXHAUSTED when `added_bytes` more would take a store holding
// `store_bytes` (all stores: `total_bytes`) past a limit.
absl::Status CheckLimits(absl::string_view store, uint64_t store_bytes,
                         uint64_t total_bytes, uint64_t added_bytes,
                         const StoreLimits& limits);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SOURCES_STORE_BACKEND_H_
