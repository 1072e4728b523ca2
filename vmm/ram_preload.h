// --preload_ram: before the vCPUs start, asks the broker for every page of
// the RAM region and installs it through the fault engine as a loaded page
// (counted as loaded, never as a fault), so a run can be compared with the
// same run served lazily. It uses a short-lived second session named
// "<vm_name>-preload" (on TCP the broker needs a token for that name too)
// and unary ResolveFault calls that each ask for the broker's largest
// prefetch, so the VM's own session, stream and fault statistics stay those
// of its guest faults. Pages the loader already installed are left alone.
//
// Threading: blocks its caller; call before the vCPUs start.
#ifndef FAULTLINE_VMM_RAM_PRELOAD_H_
#define FAULTLINE_VMM_RAM_PRELOAD_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.pb.h"
#include "vmm/fault/fault_engine.h"

namespace faultline::vmm {

struct RamPreloadOptions {
  std::string target;  // the broker: "unix:PATH" or "HOST:PORT"
  std::string vm_name;
  std::string vm_token;
  v1::Region ram;           // the RAM region as attached
  absl::Duration deadline;  // for the whole preload
};

// Returns how many pages were installed.
absl::StatusOr<uint64_t> PreloadRam(const RamPreloadOptions& options,
                                    FaultEngine* engine);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_RAM_PRELOAD_H_
