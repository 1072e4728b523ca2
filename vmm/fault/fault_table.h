// The faults of one VM that wait for the broker, and nothing else: a new
// userfaultfd event becomes a pending fault (or coalesces with the fault
// already asked for its page), each attempt is numbered, the stream
// generation it was sent on is remembered so a new stream resends exactly
// what it has not seen, retries are planned with fault_policy's PlanRetry,
// and a fault leaves the table when it is resolved (or when a prefetch
// installed its page). Deadlines are checked against a Clock.
//
// Pure: no file descriptors, no threads, no I/O; time comes from the Clock,
// so tests drive it with a fake one.
//
// Threading: every method may be called from any thread (one internal
// mutex); none calls out.
#ifndef FAULTLINE_VMM_FAULT_FAULT_TABLE_H_
#define FAULTLINE_VMM_FAULT_FAULT_TABLE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.pb.h"
#include "vmm/fault/fault_policy.h"

namespace faultline::vmm {

// FaultRequest.vcpu when the faulting thread is no vCPU's.
inline constexpr uint32_t kUnknownVcpu = 0xFFFFFFFF;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // absl::Now(); lives forever.
  static const Clock* Real();
};

// A userfaultfd event, resolved to its region page.
struct NewFault {
  uint32_t region_id = 0;
  std::string region_name;  // for messages
  uint64_t offset = 0;
  uint64_t host_page = 0;       // page-aligned host address
  uint64_t guest_physical = 0;  // of the page
  v1::AccessKind access = v1::ACCESS_KIND_READ;
  uint32_t vcpu = kUnknownVcpu;
  uint32_t prefetch_hint = 0;
};

struct PendingFault {
  uint64_t id = 0;
  NewFault page;
  uint32_t attempt = 0;          // of the last ask sent (or being sent)
  uint64_t sent_generation = 0;  // stream the last ask went out on; 0: none
  absl::Time first_asked;
  uint32_t retries = 0;
  bool waiting_retry = false;
  absl::Time retry_at;
  std::string last_reason = "waiting for the broker's answer";
};

// The request for the fault's current attempt.
v1::FaultRequest RequestFor(const PendingFault& fault);
// "guest-physical page 0x201000 (region 'ram' id 1 offset 0x1000, vCPU 0)",
// for messages.
std::string DescribePage(const PendingFault& fault);

class FaultTable {
 public:
  // `clock` must outlive the table.
  FaultTable(RetryOptions retry, const Clock* clock)
      : retry_(retry), clock_(clock) {}

  FaultTable(const FaultTable&) = delete;
  FaultTable& operator=(const FaultTable&) = delete;

  // The new fault's id; nullopt when its page is already in flight (the
  // event coalesces with that fault).
  std::optional<uint64_t> Add(const NewFault& fault);

  // The fault as its next ask goes out: the attempt number is one higher.
  // nullopt when the fault has left the table.
  std::optional<PendingFault> NextAttempt(uint64_t id);
  // That ask went out on stream `generation`.
  void MarkSent(uint64_t id, uint64_t generation);

  // The fault `answer` answers; nullopt for a stale answer: an id not in
  // flight (a resend answered twice), or a retry for a fault already
  // waiting to ask again.
  std::optional<PendingFault> Find(const v1::FaultAnswer& answer) const;

  struct RetryOutcome {
    bool scheduled = false;
    PendingFault fault;  // after the update (last_reason set)
    std::string why;     // when not scheduled: why it gives up
  };
  // Plans the next ask of `id` after at least `hint`, remembering `reason`
  // for messages. Gives up past the retry budget or the deadline. nullopt
  // when the fault has left the table.
  std::optional<RetryOutcome> ScheduleRetry(uint64_t id, absl::Duration hint,
                                            const std::string& reason);
  // The faults whose retry is due, no longer waiting (to be sent now).
  std::vector<uint64_t> TakeDueRetries();
  // The faults stream `generation` has not carried (none waiting for a
  // retry), and how many of them had gone out on an older stream.
  std::vector<uint64_t> UnsentOn(uint64_t generation, uint64_t* resent) const;
  // A fault asked for longer than the deadline, if any.
  std::optional<PendingFault> PastDeadline() const;
  // When the earliest retry is due, but no later than `latest`.
  absl::Time NextWakeup(absl::Time latest) const;

  // `id` is served: it leaves the table; its latency since the first ask.
  // nullopt when it had left already.
  std::optional<absl::Duration> Resolve(uint64_t id);
  // Pages a prefetch installed: faults waiting for them are served too.
  void ResolvePages(const std::vector<uint64_t>& host_pages);

  size_t size() const;

 private:
  const RetryOptions retry_;
  const Clock* const clock_;
  mutable absl::Mutex mutex_;
  uint64_t next_id_ ABSL_GUARDED_BY(mutex_) = 1;
  absl::flat_hash_map<uint64_t, PendingFault> faults_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<uint64_t, uint64_t> by_page_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_FAULT_TABLE_H_
