#include "integration/testhost/direct_run.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "integration/testhost/results_dir.h"
#include "integration/testhost/signals.h"
#include "integration/testhost/subprocess.h"
#include "proto/base/status_macros.h"

namespace faultline::testhost {

absl::StatusOr<RunOutcome> RunDirectly(const std::vector<std::string>& argv,
                                       const DirectRunOptions& options) {
  const absl::Time deadline = absl::Now() + options.timeout;
  ASSIGN_OR_RETURN(std::unique_ptr<ResultsDir> results,
                   ResultsDir::Create(options.results_dir));
  SpawnOptions spawn = InOwnProcessGroup();
  spawn.environment = {absl::StrCat("TESTHOST_RESULTS=", results->path())};
  spawn.output_path = options.console_path;
  ASSIGN_OR_RETURN(std::unique_ptr<Child> child, Child::Spawn(argv, spawn));
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
