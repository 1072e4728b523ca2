// Runs the command on this machine when it has /dev/kvm itself: no test host
// is needed then.
#ifndef FAULTLINE_INTEGRATION_TESTHOST_DIRECT_RUN_H_
#define FAULTLINE_INTEGRATION_TESTHOST_DIRECT_RUN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "integration/testhost/run_outcome.h"

namespace faultline::testhost {

// Runs argv in its own process group with the launcher's environment and
// streams. Past `timeout`, or on SIGINT/SIGTERM (see signals.h), the whole
// group is killed.
absl::StatusOr<RunOutcome> RunDirectly(const std::vector<std::string>& argv,
                                       absl::Duration timeout);

}  // namespace faultline::testhost

#endif  // FAULTLINE_INTEGRATION_TESTHOST_DIRECT_RUN_H_
