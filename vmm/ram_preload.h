// --preload_ram: before the vCPUs start, asks the broker for every page of
// the RAM region and installs it through the fault engine as a loaded page
// (counted as loaded, never as a fault), so a run can be compared with the
// same run served lazily. It uses a short-lived second session named
// "<vm_name>-preload" (on TCP the broker needs a token for that name too)
// and unary ResolveFault calls that each ask for the broker's largest
// prefetch, so the VM's own session, stream and fault statistics stay those
// of its guest faults. It is a client like the fault engine: the session is
// vmm/transport's BrokerSession, answers are checked by fault_policy's
// ValidateAnswer and retries planned by its PlanRetry (the per-fault budget,
// the fault deadline for the whole preload). Pages the loader already
// installed are left alone.
//
// Threading: blocks its caller; call before the vCPUs start.
#ifndef FAULTLINE_VMM_RAM_PRELOAD_H_
#define FAULTLINE_VMM_RAM_PRELOAD_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "proto/faultline/v1/broker.pb.h"
#include "vmm/fault/fault_engine.h"
#include "vmm/fault/fault_policy.h"

namespace faultline::vmm {

struct RamPreloadOptions {
  std::string target;  // the broker: "unix:PATH" or "HOST:PORT"
  std::string vm_name;
  std::string vm_token;
  v1::Region ram;      // the RAM region as the VM attached it
  RetryOptions retry;  // deadline: for the whole preload
};

// Returns how many pages were installed. Errors typed as BrokerSession's,
// or the rejected answer, error answer or spent retries that stopped it.
absl::StatusOr<uint64_t> PreloadRam(const RamPreloadOptions& options,
                                    FaultEngine* engine);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_RAM_PRELOAD_H_
