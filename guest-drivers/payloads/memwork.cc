// memwork: a CPU-and-memory workload for benchmarks. Over `mib` MiB of RAM
// above the image: a sieve of Eratosthenes (one byte per number), then a
// copy of one half to the other with a checksum. Prints the checksum, which
// depends only on `mib`, and the time of each phase in guest TSC cycles.
// Parameters: mib=N (default 16). vCPU 0 works; other vCPUs idle.
#include "guest-drivers/payloads/reporting.h"
#include "guest-drivers/payloads/workload.h"
#include "guest-drivers/runtime/args.h"
#include "guest-drivers/runtime/io.h"
#include "guest-drivers/runtime/runtime.h"
#include "proto/pattern.h"

namespace faultline::guest {
namespace {

namespace abi = guest_abi;

constexpr uint64_t kMiB = 1 << 20;

uint32_t Log2IfPowerOfTwo(uint64_t value) {
  if (value == 0 || (value & (value - 1)) != 0) return 0;
  uint32_t bits = 0;
  while ((uint64_t{1} << bits) != value) ++bits;
  return bits;
}

int Run(const BootInfo& boot) {
  Args args(boot.args, abi::kMaxArgsBytes);
  uint64_t mib = 0, unused_pattern_seed = 0;
  args.GetOptionalU64("mib", 1, abi::kMaxRamBytes / kMiB, 16, &mib);
  // The VMM appends pattern_seed when RAM is a pattern source; unused here.
  args.GetOptionalU64("pattern_seed", 0, UINT64_MAX, 0, &unused_pattern_seed);
  args.CheckNoUnknownKeys();
  if (!ArgsOkOrExit(args, "memwork", 0)) return kExitBadSetup;

  const uint64_t bytes = mib * kMiB;
  if (bytes > boot.ram_bytes - boot.image_end) {
    ExitWithResult(kExitBadSetup,
                   "memwork: bad parameters: mib=%llu needs %llu MiB above "
                   "the image, RAM has %llu",
                   static_cast<unsigned long long>(mib),
                   static_cast<unsigned long long>(mib),
                   static_cast<unsigned long long>(
                       (boot.ram_bytes - boot.image_end) / kMiB));
  }
  auto* area = reinterpret_cast<uint8_t*>(boot.image_end);
  Print("memwork: %llu MiB at 0x%llx\n", static_cast<unsigned long long>(mib),
        static_cast<unsigned long long>(boot.image_end));

  const uint64_t start = ReadTsc();
  const uint64_t primes = CountPrimes(area, bytes);
  const uint64_t sieved = ReadTsc();
  const uint64_t half_words = bytes / 2 / sizeof(uint64_t);
  auto* words = reinterpret_cast<uint64_t*>(area);
  const uint64_t copy_sum = CopyChecksum(words, words + half_words, half_words);
  const uint64_t end = ReadTsc();
  const uint64_t checksum = pattern::Mix(primes) ^ copy_sum;

  Print("memwork: primes below %llu: %llu; sieve %llu cycles\n",
        static_cast<unsigned long long>(bytes),
        static_cast<unsigned long long>(primes),
        static_cast<unsigned long long>(sieved - start));
  Print("memwork: copy of %llu MiB checksum 0x%016llx; copy %llu cycles\n",
        static_cast<unsigned long long>(bytes / 2 / kMiB),
        static_cast<unsigned long long>(copy_sum),
        static_cast<unsigned long long>(end - sieved));
  const uint64_t known = KnownPrimesBelowPowerOfTwo(Log2IfPowerOfTwo(bytes));
  if (known != 0 && known != primes) {
    ExitWithResult(kExitFail,
                   "memwork: sieve found %llu primes below %llu, expected %llu",
                   static_cast<unsigned long long>(primes),
                   static_cast<unsigned long long>(bytes),
                   static_cast<unsigned long long>(known));
  }
  ExitWithResult(kExitPass, "memwork: mib=%llu checksum=0x%016llx cycles=%llu",
                 static_cast<unsigned long long>(mib),
                 static_cast<unsigned long long>(checksum),
                 static_cast<unsigned long long>(end - start));
}

}  // namespace

int GuestMain(const BootInfo& boot, uint32_t vcpu_id) {
  if (vcpu_id != 0) return kExitPass;
  return Run(boot);
}

}  // namespace faultline::guest
