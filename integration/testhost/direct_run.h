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

struct DirectRunOptions {
  absl::Duration timeout = absl::Minutes(10);
  // Handed to the command as $TESTHOST_RESULTS, as in the test host: this
  // folder (created if missing, kept), or a temporary one removed afterwards.
  std::string results_dir;
  // When set, the command's stdout and stderr go here (the test host's
  // console), instead of the launcher's streams.
  std::string console_path;
};

// Runs argv in its own process group with the launcher's environment and
// streams, changed as `options` says. Past the timeout, or on SIGINT/SIGTERM
// (see signals.h), the whole group is killed.
absl::StatusOr<RunOutcome> RunDirectly(const std::vector<std::string>& argv,
                                       const DirectRunOptions& options);

}  // namespace faultline::testhost

#endif  // FAULTLINE_INTEGRATION_TESTHOST_DIRECT_RUN_H_
