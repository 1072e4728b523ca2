// Guest-side reporting shared by the payloads: mismatch lines capped across
// all vCPUs, and the argument-error exit.
#ifndef FAULTLINE_GUEST_DRIVERS_PAYLOADS_REPORTING_H_
#define FAULTLINE_GUEST_DRIVERS_PAYLOADS_REPORTING_H_

#include <stdint.h>

#include "guest-drivers/payloads/page_check.h"
#include "guest-drivers/runtime/args.h"

namespace faultline::guest {

// Prints the first kMaxPrinted mismatches of the whole run (all vCPUs share
// the cap) with address, expected and actual value.
class PrintingReporter final : public MismatchReporter {
 public:
  static constexpr uint64_t kMaxPrinted = 8;
  explicit PrintingReporter(uint32_t vcpu_id) : vcpu_id_(vcpu_id) {}
  void Report(uint64_t address, uint64_t expected, uint64_t got) override;

 private:
  uint32_t vcpu_id_;
};

// On vCPU 0: if `args` holds an error, prints it and exits with status 2.
// Other vCPUs with an error just return false (vCPU 0 ends the run).
bool ArgsOkOrExit(Args& args, const char* payload, uint32_t vcpu_id);

}  // namespace faultline::guest

#endif  // FAULTLINE_GUEST_DRIVERS_PAYLOADS_REPORTING_H_
