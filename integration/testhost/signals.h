// SIGINT and SIGTERM become a flag that run loops poll, so the cleanup they
// call for (destroying the domain, killing the command) runs on the main
// thread with its destructors, not in a signal handler.
#ifndef FAULTLINE_INTEGRATION_TESTHOST_SIGNALS_H_
#define FAULTLINE_INTEGRATION_TESTHOST_SIGNALS_H_

#include "absl/status/status.h"

namespace faultline::testhost {

// Installs the handlers. Call once, early in main. Also ignores SIGPIPE, so a
// closed stdout becomes a write error instead of killing the launcher.
absl::Status InstallInterruptHandlers();

// The first SIGINT or SIGTERM received since installation, or 0. Safe to call
// from any thread.
int PendingInterrupt();

}  // namespace faultline::testhost

#endif  // FAULTLINE_INTEGRATION_TESTHOST_SIGNALS_H_
