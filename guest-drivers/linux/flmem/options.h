// flmem's command line: a command and --key=value flags, checked against
// what the command takes.
//
// Threading: plain data and a pure parser.
#ifndef FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_OPTIONS_H_
#define FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace faultline::flmem {

enum class Command {
  kInfo,          // print the device's sysfs attributes
  kCheck,         // read pages, compare with the host's pattern
  kFill,          // write the pattern
  kSign,          // write each frame's signature word
  kShare,         // a second process maps the same pages: writes cross
  kTouch,         // threads touch pages for a while, under signals
  kExpectSigbus,  // one access that must end in SIGBUS
};

struct Options {
  Command command = Command::kInfo;
  std::string device = "/dev/faultline-mem0";
  uint64_t first = 0;  // first page of the mapping
  uint64_t count = 1;  // pages mapped
  // Frames the host filled; page p shows frame p % pool_frames (the
  // identity policy). 0: page p shows frame p.
  uint64_t pool_frames = 0;
  std::optional<uint64_t> pattern_seed;
  bool signed_frames = false;  // check: word 511 holds the signature
  bool per_page = false;       // check: print every page's latency
  uint32_t threads = 1;
  uint64_t seconds = 10;
  uint64_t signal_every_ms = 0;       // touch: SIGUSR1 to every thread
  std::optional<uint64_t> mark_seed;  // touch: stop at the host's mark
  uint64_t slow_us = 50;  // touch: an access this slow waited; reported
  uint64_t page = 0;      // expect_sigbus: page, from `first`

  // The frame a mapped page (0-based in the mapping) shows.
  uint64_t FrameOf(uint64_t mapped_page) const {
    const uint64_t page = first + mapped_page;
    return pool_frames == 0 ? page : page % pool_frames;
  }
};

// Parses argv[1..]; on failure returns nullopt and says why in `error`.
std::optional<Options> ParseOptions(const std::vector<std::string>& args,
                                    std::string* error);

// The usage text, for --help and errors.
const char* Usage();

}  // namespace faultline::flmem

#endif  // FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_OPTIONS_H_
