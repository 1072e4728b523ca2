// A multiboot test kernel that reads what its boot loader gave it: the
// command line ("KERNEL ARGS", as QEMU passes it) and its first module
// (an --initrd file: "FILE ARGS"). It prints both, checks the module holds
// text that starts with "FLMOD" and that the module's string carries
// arg=N, then exits with status=N of the command line (QEMU's exit status
// is then (N << 1) | 1).
#include "guest-drivers/multiboot/mb_runtime.h"

using namespace faultline::guest::multiboot;  // NOLINT: a tiny kernel

namespace {

uint32_t Fail(const char* why) {
  Say("RESULT: fail mb_args: ");
  Say(why);
  Say("\n");
  return 99;
}

}  // namespace

extern "C" uint32_t KernelMain(uint32_t magic, const Info* info) {
  Say("\nmb_args: multiboot magic ");
  SayHex(magic);
  Say("\n");
  if (magic != kBootloaderMagic) return Fail("not booted by multiboot");
  if ((info->flags & kInfoCmdline) == 0) return Fail("no command line");
  const char* cmdline = reinterpret_cast<const char*>(info->cmdline);
  Say("mb_args: cmdline '");
  Say(cmdline);
  Say("'\n");
  uint32_t status = 0;
  if (!FindNumber(cmdline, "status=", &status)) {
    return Fail("no status=N on the command line");
  }
  if ((info->flags & kInfoModules) == 0 || info->mods_count < 1) {
    return Fail("no module (give one with --initrd)");
  }
  const Module& module = reinterpret_cast<const Module*>(info->mods_addr)[0];
  const char* name = reinterpret_cast<const char*>(module.string);
  Say("mb_args: module '");
  Say(name);
  Say("' at ");
  SayHex(module.start);
  Say(", ");
  SayNumber(module.end - module.start);
  Say(" bytes\n");
  uint32_t arg = 0;
  if (!FindNumber(name, "arg=", &arg)) return Fail("the module has no arg=N");
  const char* bytes = reinterpret_cast<const char*>(module.start);
  const uint32_t size = module.end - module.start;
  if (size < 5 || bytes[0] != 'F' || bytes[1] != 'L' || bytes[2] != 'M' ||
      bytes[3] != 'O' || bytes[4] != 'D') {
    return Fail("the module does not start with FLMOD");
  }
  Say("mb_args: module text: ");
  for (uint32_t i = 0; i < size && bytes[i] != '\n'; ++i) {
    const char one[2] = {bytes[i], '\0'};
    Say(one);
  }
  Say("\nRESULT: pass mb_args: module arg=");
  SayNumber(arg);
  Say(", exiting with status=");
  SayNumber(status);
  Say("\n");
  return status;
}
