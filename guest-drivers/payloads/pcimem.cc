// pcimem: checks the PCI memory device end to end. The host first fills
// device frames 0..pool_frames-1 with pattern::Word(host_seed, f, w); this
// payload reads them through BAR pages 0..pool_frames-1, writes the frame
// signature at word 511 of each for the host to check, and proves the pages
// are mapped, not copied: with the identity policy BAR page i+pool_frames is
// frame i again, so the signature written at page i must appear there.
// With revisit_seed=N it then keeps reading BAR page 0 until the host has
// rewritten frame 0 with the pattern for seed N: a run during which the host
// revokes that frame, so the guest's reads fault it in again.
// Parameters: host_seed=N pool_frames=N [alias_check=yes|no]
// [revisit_seed=N].
#include "guest-drivers/pcimem/pcimem.h"

#include "guest-drivers/payloads/reporting.h"
#include "guest-drivers/runtime/args.h"
#include "guest-drivers/runtime/io.h"
#include "guest-drivers/runtime/runtime.h"
#include "proto/pattern.h"

namespace faultline::guest {
namespace {

namespace abi = guest_abi;

constexpr const char* kYesNo[] = {"yes", "no"};

struct Config {
  uint64_t host_seed = 0;
  uint64_t pool_frames = 0;
  bool alias_check = true;
  bool revisit = false;
  uint64_t revisit_seed = 0;
};

// Reads of BAR page 0 before giving up on the host's mark: minutes under
// nested emulation, far longer than the e2e case's hooks need; the case's
// own deadline ends the run sooner if the mark never comes.
constexpr uint64_t kMaxRevisitReads = uint64_t{1} << 36;

bool ParseConfig(const BootInfo& boot, Config* config) {
  Args args(boot.args, abi::kMaxArgsBytes);
  args.GetU64("host_seed", 0, UINT64_MAX, &config->host_seed);
  args.GetU64("pool_frames", 1, abi::kMaxPciMemWindowBytes / abi::kPageBytes,
              &config->pool_frames);
  size_t alias = 0;
  args.GetChoice("alias_check", kYesNo, 2, 0, &alias);
  config->alias_check = alias == 0;
  config->revisit = args.Has("revisit_seed");
  args.GetOptionalU64("revisit_seed", 0, UINT64_MAX, 0, &config->revisit_seed);
  // The VMM appends pattern_seed when RAM is a pattern source; unused here.
  uint64_t unused_pattern_seed = 0;
  args.GetOptionalU64("pattern_seed", 0, UINT64_MAX, 0, &unused_pattern_seed);
  args.CheckNoUnknownKeys();
  return ArgsOkOrExit(args, "pcimem", 0);
}

// Words 0..510 of BAR page `page` against the host's pattern for `frame`
// (word 511 carries the signature once written).
uint64_t CheckHostPattern(const PciMem& device, uint64_t page, uint64_t frame,
                          uint64_t host_seed, MismatchReporter& reporter) {
  volatile uint64_t* words = device.Frame(page);
  uint64_t mismatches = 0;
  for (uint64_t w = 0; w < kFrameSignatureWord; ++w) {
    const uint64_t expected = pattern::Word(host_seed, frame, w);
    const uint64_t got = words[w];
    if (got != expected) {
      ++mismatches;
      reporter.Report(reinterpret_cast<uint64_t>(&words[w]), expected, got);
    }
  }
  return mismatches;
}

// True if BAR page `alias` is the same device frame as BAR page `page`: it
// shows the same 512 words (signature included), and a store through `page`
// made after both are mapped is seen through `alias` at once, which no copy
// can do. Independent of the host's pattern; word 0 is put back afterwards.
bool ShowsSameFrame(const PciMem& device, uint64_t page, uint64_t alias,
                    MismatchReporter& reporter) {
  uint64_t differences = 0;
  for (uint64_t w = 0; w < PciMem::kWordsPerFrame; ++w) {
    const uint64_t expected = device.ReadWord(page, w);
    const uint64_t got = device.ReadWord(alias, w);
    if (got != expected) {
      ++differences;
      reporter.Report(reinterpret_cast<uint64_t>(device.Frame(alias) + w),
                      expected, got);
    }
  }
  if (differences != 0 ||
      device.ReadWord(alias, kFrameSignatureWord) != FrameSignature(page)) {
    return false;
  }
  const uint64_t original = device.ReadWord(page, 0);
  device.WriteWord(page, 0, ~original);
  const bool seen = device.ReadWord(alias, 0) == ~original;
  device.WriteWord(page, 0, original);
  return seen && device.ReadWord(alias, 0) == original;
}

// Reads word 0 of BAR page 0 until it holds the pattern word of `seed` for
// frame 0, which the host writes after revoking the frame.
void Revisit(const PciMem& device, uint64_t seed) {
  const uint64_t mark = pattern::Word(seed, 0, 0);
  Print("pcimem: revisit: reading BAR page 0 until the host marks frame 0\n");
  for (uint64_t reads = 1; reads <= kMaxRevisitReads; ++reads) {
    if (device.ReadWord(0, 0) == mark) {
      Print("pcimem: revisit: frame 0 marked after %llu reads\n",
            static_cast<unsigned long long>(reads));
      return;
    }
    asm volatile("pause");
  }
  ExitWithResult(kExitFail,
                 "pcimem: revisit: the host's mark never appeared in frame 0");
}

int Run(const BootInfo& boot) {
  Config config;
  if (!ParseConfig(boot, &config)) return kExitBadSetup;
  PciMem device;
  ErrorMessage error;
  if (!device.Open(&error)) {
    ExitWithResult(kExitBadSetup, "pcimem: bad environment: %s", error.text());
  }
  const PciMemLocation& where = device.location();
  Print(
      "pcimem: device at 00:%02x.%u, registers 0x%llx (0x%llx bytes), "
      "window 0x%llx (%llu frames)\n",
      where.slot, where.function,
      static_cast<unsigned long long>(where.registers_base),
      static_cast<unsigned long long>(where.registers_bytes),
      static_cast<unsigned long long>(where.window_base),
      static_cast<unsigned long long>(device.frame_count()));
  const uint64_t pages_needed =
      config.alias_check ? 2 * config.pool_frames : config.pool_frames;
  if (device.frame_count() < pages_needed) {
    ExitWithResult(kExitBadSetup,
                   "pcimem: bad environment: window has %llu pages, the "
                   "check needs %llu (pool_frames=%llu%s)",
                   static_cast<unsigned long long>(device.frame_count()),
                   static_cast<unsigned long long>(pages_needed),
                   static_cast<unsigned long long>(config.pool_frames),
                   config.alias_check ? ", twice for aliasing" : "");
  }

  PrintingReporter reporter(0);
  uint64_t bad_frames = 0, bad_words = 0;
  const uint64_t start = ReadTsc();
  for (uint64_t f = 0; f < config.pool_frames; ++f) {
    uint64_t mismatches =
        CheckHostPattern(device, f, f, config.host_seed, reporter);
    const uint64_t last =
        pattern::Word(config.host_seed, f, kFrameSignatureWord);
    const uint64_t got = device.ReadWord(f, kFrameSignatureWord);
    if (got != last) {
      ++mismatches;
      reporter.Report(reinterpret_cast<uint64_t>(device.Frame(f) + 511), last,
                      got);
    }
    if (mismatches != 0) ++bad_frames;
    bad_words += mismatches;
    device.WriteSignature(f);
  }
  Print(
      "pcimem: read %llu host frames (%llu mismatched, %llu words), wrote "
      "signatures, %llu cycles\n",
      static_cast<unsigned long long>(config.pool_frames),
      static_cast<unsigned long long>(bad_frames),
      static_cast<unsigned long long>(bad_words),
      static_cast<unsigned long long>(ReadTsc() - start));

  uint64_t unaliased = 0;
  if (config.alias_check) {
    for (uint64_t f = 0; f < config.pool_frames; ++f) {
      if (!ShowsSameFrame(device, f, f + config.pool_frames, reporter)) {
        ++unaliased;
      }
    }
    Print("pcimem: aliasing: %llu of %llu pages i+%llu show page i's frame\n",
          static_cast<unsigned long long>(config.pool_frames - unaliased),
          static_cast<unsigned long long>(config.pool_frames),
          static_cast<unsigned long long>(config.pool_frames));
  }
  if (bad_frames != 0 || unaliased != 0) {
    ExitWithResult(kExitFail,
                   "pcimem: %llu of %llu frames mismatched (%llu words), %llu "
                   "pages not aliased",
                   static_cast<unsigned long long>(bad_frames),
                   static_cast<unsigned long long>(config.pool_frames),
                   static_cast<unsigned long long>(bad_words),
                   static_cast<unsigned long long>(unaliased));
  }
  if (config.revisit) Revisit(device, config.revisit_seed);
  ExitWithResult(
      kExitPass, "pcimem: %llu frames verified and signed%s%s",
      static_cast<unsigned long long>(config.pool_frames),
      config.alias_check ? ", aliasing proven" : "",
      config.revisit ? ", frame 0 seen again after the host's mark" : "");
}

}  // namespace

// The device check is sequential: vCPU 0 runs it, the others have nothing
// to do.
int GuestMain(const BootInfo& boot, uint32_t vcpu_id) {
  if (vcpu_id != 0) return kExitPass;
  return Run(boot);
}

}  // namespace faultline::guest
