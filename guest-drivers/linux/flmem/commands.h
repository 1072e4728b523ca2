// flmem's commands (options.h says what each does). Each prints lines
// starting "flmem: ", ends with "flmem: pass ..." or "flmem: fail ...",
// and returns the process's exit status.
//
// Threading: run from main; touch and share start their own threads and
// process.
#ifndef FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_COMMANDS_H_
#define FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_COMMANDS_H_

#include "guest-drivers/linux/flmem/device.h"
#include "guest-drivers/linux/flmem/options.h"

namespace faultline::flmem {

inline constexpr int kExitPass = 0;
inline constexpr int kExitWrongData = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitSigbus = 3;
inline constexpr int kExitNoSigbus = 4;

int RunInfo(const Options& options);
int RunCheck(const Options& options, const Mapping& mapping);
int RunWrite(const Options& options, const Mapping& mapping);  // fill, sign
int RunShare(const Options& options, const Mapping& mapping);
int RunTouch(const Options& options, const Mapping& mapping);
int RunExpectSigbus(const Options& options, const Mapping& mapping);

// Reading one word, with a SIGBUS it raises caught: false on SIGBUS, which
// is then described on stdout.
bool ReadWord(const Mapping& mapping, uint64_t mapped_page, uint64_t word,
              uint64_t* value);

}  // namespace faultline::flmem

#endif  // FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_COMMANDS_H_
