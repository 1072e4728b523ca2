// Answers one fault: checks its target (the one place both the stream and
// ResolveFault do), applies the session's quota and any injection rule, then
// has a worker compute the answer from the region's source or pool (single
// flight per page, with prefetch), and counts and publishes the outcome.
//
// Threading: Process(), Resolve() and MayTake() may be called from any
// thread (gRPC reactors and handlers, a ring's reader); the answer is
// delivered exactly once, on the calling thread or on a scheduler worker,
// never under a lock of this class.
#ifndef FAULTLINE_BROKER_DATA_FAULT_PROCESSOR_H_
#define FAULTLINE_BROKER_DATA_FAULT_PROCESSOR_H_

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "broker/observe/stats.h"
#include "broker/observe/watch_hub.h"
#include "broker/policy/injection.h"
#include "broker/policy/scheduler.h"
#include "broker/session/session.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

// Delay hint for faults whose work was interrupted (shutdown, detach).
inline constexpr uint32_t kInterruptedRetryDelayUs = 1000;

class FaultProcessor {
 public:
  using Deliver = std::function<void(v1::FaultAnswer answer)>;

  FaultProcessor(FairScheduler& scheduler, InjectionTable& injections,
                 WatchHub& watchers, FaultStats& total)
      : scheduler_(scheduler),
        injections_(injections),
        watchers_(watchers),
        total_(total) {}

  // A fault whose target is invalid (a region the session did not declare,
  // an unaligned offset or one outside the region) is refused the same way
  // on both paths: counted as an invalid request and published as
  // ErrorAnswer{DENIED} naming the value. Only how the caller hears of it
  // differs.

  // The Faults stream: answers `fault` through `deliver`, exactly once; an
  // invalid fault is delivered as that ErrorAnswer{DENIED}, so the stream
  // carries on.
  void Process(std::shared_ptr<Session> session, const v1::FaultRequest& fault,
               Deliver deliver);
  // ResolveFault: the same, but an invalid fault is not delivered; the
  // INVALID_ARGUMENT naming the value is returned instead (OK otherwise).
  absl::Status Resolve(std::shared_ptr<Session> session,
                       const v1::FaultRequest& fault, Deliver deliver);
  // A request of `session` refused as malformed before it named a fault (a
  // ResolveFaultRequest without a fault, a stream message with nothing
  // set): counted and published as an invalid request; returns `why`.
  absl::Status Refuse(std::shared_ptr<Session> session, absl::Status why);

  // Flow control for a transport that reads a session's requests itself
  // (the Faults stream, a ring), asked before it takes each one: true when
  // it may take the next request now. Otherwise the pause is counted in the
  // session's statistics and `resume` runs once, later, when the session
  // may be under its throttle again (policy/read_throttle.h): on the thread
  // that answers one of its faults (at the in-flight limit) or on a
  // scheduler worker when a token is due (over the fault or re-ask rate).
  // The transport then asks again. A timed resume is dropped at broker
  // shutdown, which ends every transport itself. `resume` must not block
  // and may hold only what outlives the transport; it is copied only when
  // the transport is paused.
  bool MayTake(const std::shared_ptr<Session>& session,
               const std::function<void()>& resume);

 private:
  struct Pending;
  absl::Status Start(std::shared_ptr<Session> session,
                     const v1::FaultRequest& fault, bool deliver_invalid,
                     Deliver deliver);
  void Run(std::shared_ptr<Pending> pending, bool interrupted);
  // The answer from the region's source or pool, prefetch included.
  v1::FaultAnswer Compute(const SessionRegion& region,
                          const v1::FaultRequest& fault) const;
  // Counts, publishes and (unless `deliver` is false) delivers `answer`.
  void Finish(const Pending& pending, v1::FaultAnswer answer, bool invalid,
              bool deliver = true);

  FairScheduler& scheduler_;
  InjectionTable& injections_;
  WatchHub& watchers_;
  FaultStats& total_;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_DATA_FAULT_PROCESSOR_H_
