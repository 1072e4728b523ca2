#include "guest-drivers/linux/flmem/sigbus.h"

#include <csetjmp>
#include <csignal>
#include <cstring>

namespace faultline::flmem {
namespace {

thread_local sigjmp_buf* guard = nullptr;
thread_local BusError caught;

void OnSigbus(int signal, siginfo_t* info, void*) {
  if (guard == nullptr) {
    // Not ours to catch: die of it as if there were no handler.
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  caught.address = reinterpret_cast<uintptr_t>(info->si_addr);
  caught.code = info->si_code;
  siglongjmp(*guard, 1);
}

}  // namespace

void InstallSigbusHandler() {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_sigaction = OnSigbus;
  // SIGBUS stays unblocked in the handler, so the jump out of it needs no
  // signal mask restored: a guarded access costs no system call, which
  // would show in the latency of every touch.
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  sigaction(SIGBUS, &action, nullptr);
}

bool GuardedAccess(void (*access)(void* context), void* context,
                   BusError* error) {
  sigjmp_buf here;
  if (sigsetjmp(here, 0) != 0) {
    guard = nullptr;
    *error = caught;
    return false;
  }
  guard = &here;
  access(context);
  guard = nullptr;
  return true;
}

const char* BusErrorCode(int code) {
  switch (code) {
    case BUS_ADRALN:
      return "BUS_ADRALN";
    case BUS_ADRERR:
      return "BUS_ADRERR";
    case BUS_OBJERR:
      return "BUS_OBJERR";
    case BUS_MCEERR_AR:
      return "BUS_MCEERR_AR (machine check)";
    case BUS_MCEERR_AO:
      return "BUS_MCEERR_AO";
    default:
      return "unknown si_code";
  }
}

}  // namespace faultline::flmem
