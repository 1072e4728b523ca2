// How a command run by testhost ended, and the launcher's exit statuses.
#ifndef FAULTLINE_INTEGRATION_TESTHOST_RUN_OUTCOME_H_
#define FAULTLINE_INTEGRATION_TESTHOST_RUN_OUTCOME_H_

namespace faultline::testhost {

// Exit statuses of `testhost run` other than the command's own (the
// conventions of timeout(1) and of shells).
inline constexpr int kExitTimedOut = 124;
inline constexpr int kExitTestHostFailed = 125;
inline constexpr int kExitCommandNotFound = 127;

struct RunOutcome {
  enum class Ending { kExited, kTimedOut, kInterrupted };
  Ending ending = Ending::kExited;
  int exit_status = 0;  // kExited: the command's status, 128+N if killed by N
  int signal = 0;       // kInterrupted: the signal the launcher received
};

// The launcher's exit status for `outcome`.
inline int ExitStatusFor(const RunOutcome& outcome) {
  switch (outcome.ending) {
    case RunOutcome::Ending::kExited:
      return outcome.exit_status;
    case RunOutcome::Ending::kTimedOut:
      return kExitTimedOut;
    case RunOutcome::Ending::kInterrupted:
      return 128 + outcome.signal;
  }
  return kExitTestHostFailed;
}

}  // namespace faultline::testhost

#endif  // FAULTLINE_INTEGRATION_TESTHOST_RUN_OUTCOME_H_
