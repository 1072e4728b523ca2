// Answers one fault: checks it against the session's regions, applies the
// session's quota and any injection rule, then has a worker compute the
// answer from the region's source or pool (single flight per page, with
// prefetch), and counts and publishes the outcome.
//
// Threading: Process() may be called from any thread (gRPC reactors); the
// answer is delivered exactly once, on the calling thread or on a scheduler
// worker, never under a lock of this class.
#ifndef FAULTLINE_BROKER_DATA_FAULT_PROCESSOR_H_
#define FAULTLINE_BROKER_DATA_FAULT_PROCESSOR_H_

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "broker/policy/injection.h"
#include "broker/policy/scheduler.h"
#include "broker/session/session.h"
#include "broker/observe/stats.h"
#include "broker/observe/watch_hub.h"
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

  // INVALID_ARGUMENT naming the value when the fault's region is not one
  // the session declared or the offset is unaligned or outside it.
  static absl::Status CheckTarget(const Session& session,
                                  const v1::FaultRequest& fault);

  // Answers `fault`. An invalid fault is answered ErrorAnswer{DENIED} with
  // CheckTarget's message and counted as an invalid request.
  void Process(std::shared_ptr<Session> session, const v1::FaultRequest& fault,
               Deliver deliver);

 private:
  struct Pending;
  void Run(std::shared_ptr<Pending> pending, bool interrupted);
  // The answer from the region's source or pool, prefetch included.
  v1::FaultAnswer Compute(const SessionRegion& region,
                          const v1::FaultRequest& fault) const;
  void Finish(const Pending& pending, v1::FaultAnswer answer, bool invalid);

  FairScheduler& scheduler_;
  InjectionTable& injections_;
  WatchHub& watchers_;
  FaultStats& total_;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_DATA_FAULT_PROCESSOR_H_
