#include "integration/testhost/signals.h"

#include <signal.h>

#include <atomic>

#include "proto/base/errno_status.h"

namespace faultline::testhost {
namespace {

std::atomic<int> pending_signal{0};

void RecordSignal(int signal_number) {
  int expected = 0;
  pending_signal.compare_exchange_strong(expected, signal_number);
}

}  // namespace

absl::Status InstallInterruptHandlers() {
  struct sigaction action = {};
  action.sa_handler = RecordSignal;
  sigemptyset(&action.sa_mask);
  for (int signal_number : {SIGINT, SIGTERM}) {
    if (sigaction(signal_number, &action, nullptr) != 0) {
      return ErrnoError("installing a signal handler");
    }
  }
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  if (sigaction(SIGPIPE, &ignore, nullptr) != 0) {
    return ErrnoError("ignoring SIGPIPE");
  }
  return absl::OkStatus();
}

int PendingInterrupt() { return pending_signal.load(); }

}  // namespace faultline::testhost
