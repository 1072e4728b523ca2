// Serial console (8250 UART on COM1, polled). Each Print call is one atomic
// unit across vCPUs: lines from different vCPUs never interleave.
#ifndef FAULTLINE_GUEST_DRIVERS_RUNTIME_CONSOLE_H_
#define FAULTLINE_GUEST_DRIVERS_RUNTIME_CONSOLE_H_

#include <stdarg.h>

#include "guest-drivers/runtime/format.h"

namespace faultline::guest {

// Programs the UART (8N1, no interrupts). Called once by the runtime.
void InitConsole();

void Print(const char* format, ...) FAULTLINE_PRINTF_LIKE(1, 2);
void PrintV(const char* format, va_list args);

// Takes the console for good: used by the final RESULT line so that nothing
// another vCPU prints can come after it.
void PrintFinalV(const char* prefix, const char* format, va_list args);

}  // namespace faultline::guest

#endif  // FAULTLINE_GUEST_DRIVERS_RUNTIME_CONSOLE_H_
