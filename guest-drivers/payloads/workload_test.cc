#include "guest-drivers/payloads/workload.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace faultline::guest {
namespace {

TEST(CountPrimes, CountsSmallRanges) {
  std::vector<uint8_t> flags(100, 0xAA);
  EXPECT_EQ(CountPrimes(flags.data(), 2), 0u);
  EXPECT_EQ(CountPrimes(flags.data(), 3), 1u);
  EXPECT_EQ(CountPrimes(flags.data(), 100), 25u);
}

TEST(CountPrimes, MatchesTheTableForOneMiB) {
  std::vector<uint8_t> flags(1 << 20, 0x55);  // garbage in: it must not matter
  EXPECT_EQ(CountPrimes(flags.data(), flags.size()),
            KnownPrimesBelowPowerOfTwo(20));
}

TEST(KnownPrimes, OnlyTabledSizesAreKnown) {
  EXPECT_EQ(KnownPrimesBelowPowerOfTwo(19), 0u);
  EXPECT_EQ(KnownPrimesBelowPowerOfTwo(24), 1077871u);
  EXPECT_EQ(KnownPrimesBelowPowerOfTwo(29), 0u);
}

TEST(CopyChecksum, IsDeterministicWhateverTheMemoryHeld) {
  std::vector<uint64_t> a(2 * 4096, 0), b(2 * 4096, ~0ull);
  const uint64_t first = CopyChecksum(a.data(), a.data() + 4096, 4096);
  const uint64_t second = CopyChecksum(b.data(), b.data() + 4096, 4096);
  EXPECT_EQ(first, second);
  EXPECT_EQ(std::vector<uint64_t>(a.begin(), a.begin() + 4096),
            std::vector<uint64_t>(a.begin() + 4096, a.end()));
  EXPECT_NE(CopyChecksum(a.data(), a.data() + 4096, 4095), first);
}

}  // namespace
}  // namespace faultline::guest
