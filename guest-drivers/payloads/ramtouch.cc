// ramtouch: touches every page of guest RAM above the image, once, in a
// chosen order, split across all vCPUs at once, and checks each page against
// the pattern source. Parameters: order=sequential|strided|random
// access=read|write|both stride=PAGES seed=N (random order) pattern_seed=N.
#include "guest-drivers/payloads/page_check.h"
#include "guest-drivers/payloads/page_order.h"
#include "guest-drivers/payloads/reporting.h"
#include "guest-drivers/runtime/args.h"
#include "guest-drivers/runtime/io.h"
#include "guest-drivers/runtime/runtime.h"

namespace faultline::guest {
namespace {

namespace abi = guest_abi;

constexpr const char* kOrders[] = {"sequential", "strided", "random"};
enum Access : size_t { kRead, kWrite, kBoth };
constexpr const char* kAccesses[] = {"read", "write", "both"};

struct Config {
  size_t order = 0;
  size_t access = kRead;
  uint64_t stride = 1;
  uint64_t seed = 1;
  uint64_t pattern_seed = 0;
};

struct VcpuResult {
  uint64_t pages = 0;
  uint64_t mismatched_pages = 0;
  uint64_t mismatched_words = 0;
  uint64_t cycles = 0;
};

VcpuResult g_results[abi::kMaxVcpus];

bool ParseConfig(const BootInfo& boot, uint32_t vcpu_id, Config* config) {
  Args args(boot.args, abi::kMaxArgsBytes);
  if (args.ok() && !args.Has("pattern_seed") && vcpu_id == 0) {
    ExitWithResult(kExitBadSetup,
                   "ramtouch: bad environment: no pattern_seed; ramtouch "
                   "checks RAM served by --ram_source=pattern:SEED");
  }
  args.GetChoice("order", kOrders, 3, 0, &config->order);
  args.GetChoice("access", kAccesses, 3, kRead, &config->access);
  args.GetOptionalU64("stride", 1, uint64_t{1} << 32, 1, &config->stride);
  args.GetOptionalU64("seed", 0, UINT64_MAX, 1, &config->seed);
  args.GetU64("pattern_seed", 0, UINT64_MAX, &config->pattern_seed);
  args.CheckNoUnknownKeys();
  return ArgsOkOrExit(args, "ramtouch", vcpu_id);
}

VcpuResult TouchPages(const Config& config, const PageOrder& order,
                      uint64_t first_frame, uint32_t vcpu_id) {
  PrintingReporter reporter(vcpu_id);
  VcpuResult result;
  const IndexRange range = SliceFor(order.page_count(), VcpuCount(), vcpu_id);
  const uint64_t start = ReadTsc();
  for (uint64_t index = range.begin; index < range.end; ++index) {
    const uint64_t frame = first_frame + order.PageAt(index);
    auto* page = reinterpret_cast<volatile uint64_t*>(frame * abi::kPageBytes);
    uint64_t mismatches = 0;
    if (config.access != kWrite) {
      mismatches +=
          CheckPatternPage(page, config.pattern_seed, frame, reporter);
    }
    if (config.access != kRead) {
      mismatches +=
          WriteAndCheckPage(page, config.pattern_seed, frame, reporter);
    }
    ++result.pages;
    if (mismatches != 0) ++result.mismatched_pages;
    result.mismatched_words += mismatches;
  }
  result.cycles = ReadTsc() - start;
  return result;
}

[[noreturn]] void Report(const Config& config, uint64_t page_count) {
  VcpuResult total;
  for (uint32_t vcpu = 0; vcpu < VcpuCount(); ++vcpu) {
    const VcpuResult& r = g_results[vcpu];
    Print(
        "ramtouch: vCPU %u touched %llu pages (%llu mismatched, %llu words) "
        "in %llu cycles\n",
        vcpu, static_cast<unsigned long long>(r.pages),
        static_cast<unsigned long long>(r.mismatched_pages),
        static_cast<unsigned long long>(r.mismatched_words),
        static_cast<unsigned long long>(r.cycles));
    total.pages += r.pages;
    total.mismatched_pages += r.mismatched_pages;
    total.mismatched_words += r.mismatched_words;
  }
  Print("ramtouch: total %llu pages touched of %llu\n",
        static_cast<unsigned long long>(total.pages),
        static_cast<unsigned long long>(page_count));
  if (total.pages != page_count || total.mismatched_pages != 0) {
    ExitWithResult(kExitFail,
                   "ramtouch: %llu of %llu pages mismatched (%llu words), "
                   "%llu touched",
                   static_cast<unsigned long long>(total.mismatched_pages),
                   static_cast<unsigned long long>(page_count),
                   static_cast<unsigned long long>(total.mismatched_words),
                   static_cast<unsigned long long>(total.pages));
  }
  ExitWithResult(kExitPass, "ramtouch: %llu pages order=%s access=%s vcpus=%u",
                 static_cast<unsigned long long>(total.pages),
                 kOrders[config.order], kAccesses[config.access], VcpuCount());
}

}  // namespace

int GuestMain(const BootInfo& boot, uint32_t vcpu_id) {
  Config config;
  if (!ParseConfig(boot, vcpu_id, &config)) return kExitBadSetup;
  const uint64_t first_frame = boot.image_end / abi::kPageBytes;
  const uint64_t page_count = boot.ram_bytes / abi::kPageBytes - first_frame;
  if (page_count == 0) {
    if (vcpu_id != 0) return kExitBadSetup;
    ExitWithResult(kExitBadSetup,
                   "ramtouch: bad environment: no RAM above "
                   "the image end 0x%llx",
                   static_cast<unsigned long long>(boot.image_end));
  }
  const PageOrder order(static_cast<PageOrderKind>(config.order), page_count,
                        config.stride, config.seed);
  if (vcpu_id == 0) {
    Print(
        "ramtouch: %llu pages [0x%llx, 0x%llx) order=%s access=%s "
        "stride=%llu seed=%llu pattern_seed=%llu on %u vCPUs\n",
        static_cast<unsigned long long>(page_count),
        static_cast<unsigned long long>(boot.image_end),
        static_cast<unsigned long long>(boot.ram_bytes), kOrders[config.order],
        kAccesses[config.access],
        static_cast<unsigned long long>(config.stride),
        static_cast<unsigned long long>(config.seed),
        static_cast<unsigned long long>(config.pattern_seed), VcpuCount());
  }
  WaitForAllVcpus();  // every vCPU starts touching at once
  g_results[vcpu_id] = TouchPages(config, order, first_frame, vcpu_id);
  WaitForAllVcpus();
  if (vcpu_id != 0) return kExitPass;
  Report(config, page_count);
}

}  // namespace faultline::guest
