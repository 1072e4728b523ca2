// flmem share: two processes, each with its own mapping of the same pages,
// see each other's stores at once. The parent marks word 510 of every page,
// the child (which maps the device itself) checks the marks and answers
// with its own, and the parent checks those; the words are put back.
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <vector>

#include "guest-drivers/linux/flmem/commands.h"
#include "guest-drivers/linux/flmem/frames.h"

namespace faultline::flmem {
namespace {

constexpr int kWaitMs = 120000;  // a page may wait for the broker

// Each side counts the other's marks it does not see, then writes its own.
uint64_t SeeAndMark(const Mapping& mapping, bool child) {
  uint64_t missing = 0;
  for (uint64_t p = 0; p < mapping.pages(); ++p) {
    uint64_t value = 0;
    if (!ReadWord(mapping, p, kShareWord, &value) ||
        value != ShareMark(p, !child)) {
      ++missing;
      continue;
    }
    if (child) mapping.Page(p)[kShareWord] = ShareMark(p, true);
  }
  StoreFence();
  return missing;
}

bool ReadByte(int fd, char* byte) {
  pollfd ready{fd, POLLIN, 0};
  return ::poll(&ready, 1, kWaitMs) == 1 && ::read(fd, byte, 1) == 1;
}

int Child(const Options& options, int from_parent, int to_parent) {
  std::string error;
  auto own =
      Mapping::Open(options.device, options.first, options.count, &error);
  char go = 0;
  char result = 2;
  if (own == nullptr) {
    std::printf("flmem: share: child: %s\n", error.c_str());
  } else if (ReadByte(from_parent, &go)) {
    const uint64_t missing = SeeAndMark(*own, true);
    if (missing > 0) {
      std::printf("flmem: share: child missed the parent's mark on %" PRIu64
                  " pages\n",
                  missing);
    }
    result = missing == 0 ? 0 : 1;
  }
  std::fflush(stdout);
  (void)!::write(to_parent, &result, 1);
  return result;
}

}  // namespace

int RunShare(const Options& options, const Mapping& mapping) {
  std::vector<uint64_t> saved(mapping.pages());
  for (uint64_t p = 0; p < mapping.pages(); ++p) {
    if (!ReadWord(mapping, p, kShareWord, &saved[p])) return kExitSigbus;
  }
  int down[2], up[2];
  if (::pipe(down) != 0 || ::pipe(up) != 0) {
    std::printf("flmem: fail share: no pipe\n");
    return kExitUsage;
  }
  std::fflush(stdout);
  const pid_t child = ::fork();
  if (child < 0) {
    std::printf("flmem: fail share: cannot fork\n");
    return kExitUsage;
  }
  if (child == 0) _exit(Child(options, down[0], up[1]));

  for (uint64_t p = 0; p < mapping.pages(); ++p) {
    mapping.Page(p)[kShareWord] = ShareMark(p, false);
  }
  StoreFence();
  const char go = 1;
  char result = 2;
  (void)!::write(down[1], &go, 1);
  const bool answered = ReadByte(up[0], &result);
  if (!answered) ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  const uint64_t missing =
      answered && result == 0 ? SeeAndMark(mapping, false) : mapping.pages();
  for (uint64_t p = 0; p < mapping.pages(); ++p) {
    mapping.Page(p)[kShareWord] = saved[p];
  }
  StoreFence();
  if (!answered || result != 0 || missing != 0) {
    std::printf("flmem: fail share: child %s, parent missed %" PRIu64
                " of the child's marks\n",
                !answered     ? "did not answer"
                : result == 0 ? "saw all"
                              : "failed",
                missing);
    return kExitWrongData;
  }
  std::printf(
      "flmem: pass share: two processes saw each other's stores on "
      "all %" PRIu64 " pages\n",
      mapping.pages());
  return kExitPass;
}

}  // namespace faultline::flmem
