// How many pages after a faulting RAM page the engine asks the broker for
// (the prefetch hint), adaptive as Linux's on-demand readahead is: a fault
// that lands just past a recent answer's pages (within one window length)
// means the guest walked through them, so the window doubles; a fault
// elsewhere while recent windows went unfollowed means prefetched pages sat
// untouched, so it halves. Fixed mode always answers the same size.
//
// Pages are host page addresses (any unique page numbering works): the
// policy only compares them. Pure apart from its own lock.
//
// Threading: every method may be called from any thread (the reader asks,
// the stream thread reports answers).
#ifndef FAULTLINE_VMM_FAULT_PREFETCH_WINDOW_H_
#define FAULTLINE_VMM_FAULT_PREFETCH_WINDOW_H_

#include <cstdint>
#include <deque>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace faultline::vmm {

struct PrefetchWindowOptions {
  bool adaptive = false;
  uint32_t initial_pages = 7;  // fixed mode: always this
  uint32_t min_pages = 0;
  uint32_t max_pages = 64;
  // Answers remembered for the continuation test; older ones count as
  // untouched.
  uint32_t remembered_windows = 8;
};

class PrefetchWindow {
 public:
  explicit PrefetchWindow(const PrefetchWindowOptions& options);

  PrefetchWindow(const PrefetchWindow&) = delete;
  PrefetchWindow& operator=(const PrefetchWindow&) = delete;

  // A new fault at `page` (the unit is one page: address / page size):
  // updates the window from what it says about recent answers and returns
  // the hint to ask with.
  uint32_t HintFor(uint64_t page) ABSL_LOCKS_EXCLUDED(mutex_);

  // An answer for the fault at `page` made [page + 1, end) resident as
  // prefetch (end == page + 1 when it brought none).
  void OnAnswered(uint64_t page, uint64_t end) ABSL_LOCKS_EXCLUDED(mutex_);

  uint32_t size() const ABSL_LOCKS_EXCLUDED(mutex_);
  uint64_t grown() const ABSL_LOCKS_EXCLUDED(mutex_);
  uint64_t shrunk() const ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  struct Answered {
    uint64_t end = 0;     // the first page past the prefetched ones
    uint64_t length = 0;  // prefetched pages
  };

  const PrefetchWindowOptions options_;
  mutable absl::Mutex mutex_;
  uint32_t size_ ABSL_GUARDED_BY(mutex_);
  std::deque<Answered> recent_ ABSL_GUARDED_BY(mutex_);
  uint64_t grown_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t shrunk_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_PREFETCH_WINDOW_H_
