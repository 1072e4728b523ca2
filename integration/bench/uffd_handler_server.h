// The shape both non-engine servers share: one handler thread reads events
// from a userfaultfd over region 1 of the guest memory and hands each fault
// to ServeFault(), as a simple userfaultfd page server does. A failure stops
// the handler and is kept for failure().
//
// Threading: ServeFault runs on the handler thread only; Counts() and
// failure() may be called from any thread.
#ifndef FAULTLINE_INTEGRATION_BENCH_UFFD_HANDLER_SERVER_H_
#define FAULTLINE_INTEGRATION_BENCH_UFFD_HANDLER_SERVER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "integration/bench/page_server.h"
#include "proto/base/unique_fd.h"
#include "vmm/fault/userfaultfd.h"
#include "vmm/memory/guest_memory.h"

namespace faultline::bench {

class UffdHandlerServer : public PageServer {
 public:
  ~UffdHandlerServer() override;

  ServerCounts Counts() const override;
  absl::Status failure() const override;

 protected:
  explicit UffdHandlerServer(const vmm::MappedRegion* region);

  // Registers the region and starts the handler thread; call once, last in
  // the subclass's factory.
  absl::Status StartHandler();
  // Stops and joins the handler; subclasses call it first in their
  // destructor, so ServeFault never runs on a half-destroyed object.
  void StopHandler();

  // Makes the page at `offset` of the region resident and wakes its waiters.
  virtual absl::Status ServeFault(uint64_t offset) = 0;

  // Installs one page; EEXIST (already there) counts as done.
  absl::Status CopyPage(uint64_t offset, const void* page);

  const vmm::MappedRegion* const region_;
  std::atomic<uint64_t> retries_{0};

 private:
  void HandlerLoop();

  std::unique_ptr<vmm::Userfaultfd> uffd_;
  UniqueFd stop_fd_;
  std::thread handler_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> faults_{0};
  std::atomic<uint64_t> pages_{0};
  mutable absl::Mutex mutex_;
  absl::Status failure_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_UFFD_HANDLER_SERVER_H_
