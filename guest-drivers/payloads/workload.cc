#include "guest-drivers/payloads/workload.h"

#include "proto/pattern.h"

namespace faultline::guest {

uint64_t CountPrimes(uint8_t* flags, uint64_t count) {
  if (count < 3) return 0;
  __builtin_memset(flags, 1, count);
  flags[0] = flags[1] = 0;
  for (uint64_t i = 2; i * i < count; ++i) {
    if (flags[i] == 0) continue;
    for (uint64_t multiple = i * i; multiple < count; multiple += i) {
      flags[multiple] = 0;
    }
  }
  uint64_t primes = 0;
  for (uint64_t i = 0; i < count; ++i) primes += flags[i];
  return primes;
}

uint64_t CopyChecksum(uint64_t* source, uint64_t* destination,
                      uint64_t word_count) {
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (uint64_t i = 0; i < word_count; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    source[i] = state;
  }
  __builtin_memcpy(destination, source, word_count * sizeof(uint64_t));
  uint64_t checksum = 0;
  for (uint64_t i = 0; i < word_count; ++i) {
    checksum = pattern::Mix(checksum ^ destination[i]);
  }
  return checksum;
}

uint64_t KnownPrimesBelowPowerOfTwo(uint32_t bits) {
  constexpr uint64_t kPrimesBelow[] = {82025,   155611,  295947,
                                       564163,  1077871, 2063689,
                                       3957809, 7603553, 14630843};
  if (bits < 20 || bits > 28) return 0;
  return kPrimesBelow[bits - 20];
}

}  // namespace faultline::guest
