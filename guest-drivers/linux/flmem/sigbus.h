// Catching the SIGBUS a page access raises, so flmem can say which page
// failed and go on or stop cleanly, instead of dying on the signal.
//
// Threading: each thread catches its own accesses' SIGBUS. A SIGBUS raised
// outside a guarded access still kills the process.
#ifndef FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_SIGBUS_H_
#define FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_SIGBUS_H_

#include <cstdint>

namespace faultline::flmem {

struct BusError {
  uintptr_t address = 0;
  int code = 0;  // si_code: BUS_ADRERR, BUS_OBJERR, ...
};

// Installs the handler; call once before the first guarded access.
void InstallSigbusHandler();

// Runs `access(context)`; false, with what happened in `error`, if a SIGBUS
// ended it. `access` must not own objects with destructors: a SIGBUS skips
// them.
bool GuardedAccess(void (*access)(void* context), void* context,
                   BusError* error);

const char* BusErrorCode(int code);

}  // namespace faultline::flmem

#endif  // FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_SIGBUS_H_
