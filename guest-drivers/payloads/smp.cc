// smp: every vCPU faults at once, first on pages of its own (disjoint sets),
// then all on the same shared pages in the same order, so faults on one page
// race between vCPUs. Every page read is checked against the pattern source.
// Needs at least 2 vCPUs. Parameters (all optional but pattern_seed, which
// the VMM appends for a pattern source): pages_per_vcpu=N shared_pages=N.
#include "guest-drivers/payloads/page_check.h"
#include "guest-drivers/payloads/reporting.h"
#include "guest-drivers/runtime/args.h"
#include "guest-drivers/runtime/io.h"
#include "guest-drivers/runtime/runtime.h"

namespace faultline::guest {
namespace {

namespace abi = guest_abi;

constexpr uint64_t kDefaultPagesPerVcpu = 256;
constexpr uint64_t kDefaultSharedPages = 64;

struct Config {
  uint64_t pattern_seed = 0;
  uint64_t pages_per_vcpu = 0;
  uint64_t shared_pages = 0;
};

struct VcpuResult {
  uint64_t own_pages = 0;
  uint64_t shared_pages = 0;
  uint64_t mismatched_words = 0;
  uint64_t cycles = 0;
};

VcpuResult g_results[abi::kMaxVcpus];

// Parses and sizes the run; on vCPU 0 a bad setup ends it with status 2.
bool Configure(const BootInfo& boot, uint32_t vcpu_id, Config* config) {
  Args args(boot.args, abi::kMaxArgsBytes);
  if (args.ok() && !args.Has("pattern_seed") && vcpu_id == 0) {
    ExitWithResult(kExitBadSetup,
                   "smp: bad environment: no pattern_seed; smp checks RAM "
                   "served by --ram_source=pattern:SEED");
  }
  const uint64_t available =
      boot.ram_bytes / abi::kPageBytes - boot.image_end / abi::kPageBytes;
  args.GetU64("pattern_seed", 0, UINT64_MAX, &config->pattern_seed);
  args.GetOptionalU64("shared_pages", 1, available, kDefaultSharedPages,
                      &config->shared_pages);
  const bool sized = args.Has("pages_per_vcpu");
  args.GetOptionalU64("pages_per_vcpu", 1, available, kDefaultPagesPerVcpu,
                      &config->pages_per_vcpu);
  args.CheckNoUnknownKeys();
  if (!ArgsOkOrExit(args, "smp", vcpu_id)) return false;

  const uint32_t vcpus = VcpuCount();
  if (vcpus < 2) {
    if (vcpu_id == 0) {
      ExitWithResult(kExitBadSetup,
                     "smp: bad environment: needs at least 2 vCPUs, has %u "
                     "(run the VMM with --vcpus=2 or more)",
                     vcpus);
    }
    return false;
  }
  // The default per-vCPU share shrinks to fit small RAM; an explicit one
  // that does not fit is an error.
  const uint64_t room = available > config->shared_pages
                            ? (available - config->shared_pages) / vcpus
                            : 0;
  if (!sized && config->pages_per_vcpu > room) config->pages_per_vcpu = room;
  if (config->pages_per_vcpu == 0 || config->pages_per_vcpu > room) {
    if (vcpu_id == 0) {
      ExitWithResult(kExitBadSetup,
                     "smp: bad parameters: %llu shared pages plus %u x %llu "
                     "pages do not fit the %llu pages above the image",
                     static_cast<unsigned long long>(config->shared_pages),
                     vcpus,
                     static_cast<unsigned long long>(config->pages_per_vcpu),
                     static_cast<unsigned long long>(available));
    }
    return false;
  }
  return true;
}

uint64_t CheckPages(uint64_t first_frame, uint64_t count, uint64_t seed,
                    MismatchReporter& reporter) {
  uint64_t mismatches = 0;
  for (uint64_t frame = first_frame; frame < first_frame + count; ++frame) {
    const auto* page =
        reinterpret_cast<const volatile uint64_t*>(frame * abi::kPageBytes);
    mismatches += CheckPatternPage(page, seed, frame, reporter);
  }
  return mismatches;
}

[[noreturn]] void Report(const Config& config) {
  uint64_t mismatches = 0;
  for (uint32_t vcpu = 0; vcpu < VcpuCount(); ++vcpu) {
    const VcpuResult& r = g_results[vcpu];
    Print(
        "smp: vCPU %u read %llu own pages and %llu shared pages, %llu "
        "mismatched words, %llu cycles\n",
        vcpu, static_cast<unsigned long long>(r.own_pages),
        static_cast<unsigned long long>(r.shared_pages),
        static_cast<unsigned long long>(r.mismatched_words),
        static_cast<unsigned long long>(r.cycles));
    mismatches += r.mismatched_words;
  }
  if (mismatches != 0) {
    ExitWithResult(kExitFail, "smp: %llu mismatched words across %u vCPUs",
                   static_cast<unsigned long long>(mismatches), VcpuCount());
  }
  ExitWithResult(kExitPass,
                 "smp: %u vCPUs, %llu own pages each, %llu shared pages read "
                 "by all",
                 VcpuCount(),
                 static_cast<unsigned long long>(config.pages_per_vcpu),
                 static_cast<unsigned long long>(config.shared_pages));
}

}  // namespace

int GuestMain(const BootInfo& boot, uint32_t vcpu_id) {
  Config config;
  if (!Configure(boot, vcpu_id, &config)) return kExitBadSetup;
  const uint64_t shared_frame = boot.image_end / abi::kPageBytes;
  const uint64_t own_frame =
      shared_frame + config.shared_pages + vcpu_id * config.pages_per_vcpu;
  PrintingReporter reporter(vcpu_id);
  VcpuResult& result = g_results[vcpu_id];

  WaitForAllVcpus();  // all vCPUs fault at once from here
  const uint64_t start = ReadTsc();
  result.mismatched_words += CheckPages(own_frame, config.pages_per_vcpu,
                                        config.pattern_seed, reporter);
  result.own_pages = config.pages_per_vcpu;
  WaitForAllVcpus();  // then all race for the same pages
  result.mismatched_words += CheckPages(shared_frame, config.shared_pages,
                                        config.pattern_seed, reporter);
  result.shared_pages = config.shared_pages;
  result.cycles = ReadTsc() - start;
  WaitForAllVcpus();
  if (vcpu_id != 0) return kExitPass;
  Report(config);
}

}  // namespace faultline::guest
