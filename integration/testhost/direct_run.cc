#include "integration/testhost/direct_run.h"

#include "absl/time/clock.h"
#include "integration/testhost/signals.h"
#include "integration/testhost/subprocess.h"
#include "proto/base/status_macros.h"

namespace faultline::testhost {

absl::StatusOr<RunOutcome> RunDirectly(const std::vector<std::string>& argv,
                                       absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  ASSIGN_OR_RETURN(std::unique_ptr<Child> child,
                   Child::Spawn(argv, /*own_process_group=*/true));
  RunOutcome outcome;
  while (true) {
    ASSIGN_OR_RETURN(std::optional<int> status, child->Poll());
    if (status.has_value()) {
      outcome.exit_status = *status;
      return outcome;
    }
    if (int signal_number = PendingInterrupt(); signal_number != 0) {
      RETURN_IF_ERROR(child->KillAndReap().status());
      outcome.ending = RunOutcome::Ending::kInterrupted;
      outcome.signal = signal_number;
      return outcome;
    }
    if (absl::Now() >= deadline) {
      RETURN_IF_ERROR(child->KillAndReap().status());
      outcome.ending = RunOutcome::Ending::kTimedOut;
      return outcome;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

}  // namespace faultline::testhost
