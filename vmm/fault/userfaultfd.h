// A thin wrapper over one userfaultfd: the API handshake, registration and
// the resolving ioctls. No policy: callers decide what to install where.
//
// Threading: every method may be called from any thread concurrently (the
// kernel serialises the ioctls); ReadFaults is meant for one reader thread.
#ifndef FAULTLINE_VMM_FAULT_USERFAULTFD_H_
#define FAULTLINE_VMM_FAULT_USERFAULTFD_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/base/unique_fd.h"

namespace faultline::vmm {

// One missing-page event.
struct UserFault {
  uint64_t address = 0;  // page-aligned host address
  bool write = false;
  uint32_t thread_id = 0;  // the faulting thread (UFFD_FEATURE_THREAD_ID)
};

class Userfaultfd {
 public:
  // Opens a userfaultfd (/dev/userfaultfd, else the syscall) and negotiates
  // UFFD_FEATURE_THREAD_ID, plus UFFD_FEATURE_POISON and
  // UFFD_FEATURE_EVENT_REMAP when the kernel has them.
  static absl::StatusOr<std::unique_ptr<Userfaultfd>> Create();

  Userfaultfd(const Userfaultfd&) = delete;
  Userfaultfd& operator=(const Userfaultfd&) = delete;

  bool has_poison() const { return has_poison_; }
  int fd() const { return fd_.get(); }

  // Missing-mode registration of a page-aligned range.
  absl::Status Register(void* address, size_t length);
  absl::Status Unregister(void* address, size_t length);

  // Puts a fresh, registered, unpopulated anonymous mapping over the
  // page-aligned range (a mapped device frame), so the next touch is a
  // missing fault. With UFFD_FEATURE_EVENT_REMAP it is atomic: a placeholder
  // registered elsewhere is mremap()ed into place, and the range is never
  // mapped and unregistered at once (a vCPU touching it then would get a
  // plain zero page and never fault again). mremap waits until the event
  // is read, so this must not run on the thread that calls ReadFaults().
  absl::Status ReplaceWithPlaceholder(uint64_t address, size_t length);

  // Resolving ioctls. An already-present page answers AlreadyExistsError
  // (EEXIST), which callers treat as "someone got there first".
  absl::Status Copy(uint64_t destination, const void* source, size_t length,
                    bool wake);
  // `zeroed`, when given, says how many bytes from `destination` were
  // zeroed (all on success; those before the present page on EEXIST).
  absl::Status ZeroPage(uint64_t destination, size_t length, bool wake,
                        size_t* zeroed = nullptr);
  absl::Status Wake(uint64_t address, size_t length);
  // Marks pages so an access gets SIGBUS (memory failure); Unimplemented
  // when the kernel lacks UFFDIO_POISON.
  absl::Status Poison(uint64_t address, size_t length);

  // Waits up to `timeout` (or until `wake_fd` becomes readable, when >= 0)
  // and returns the page faults read; empty on timeout. Non-fault events
  // are skipped.
  absl::StatusOr<std::vector<UserFault>> ReadFaults(absl::Duration timeout,
                                                    int wake_fd);

 private:
  Userfaultfd(UniqueFd fd, bool has_poison, bool has_remap_events)
      : fd_(std::move(fd)),
        has_poison_(has_poison),
        has_remap_events_(has_remap_events) {}

  UniqueFd fd_;
  bool has_poison_;
  bool has_remap_events_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_USERFAULTFD_H_
