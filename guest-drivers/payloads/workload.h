// memwork's computation: a sieve of Eratosthenes and a large copy with a
// checksum, over memory the caller provides. Deterministic: it writes every
// byte before reading it, so the result does not depend on what served the
// pages. Portable: built for the host in tests as well.
#ifndef FAULTLINE_GUEST_DRIVERS_PAYLOADS_WORKLOAD_H_
#define FAULTLINE_GUEST_DRIVERS_PAYLOADS_WORKLOAD_H_

#include <stddef.h>
#include <stdint.h>

namespace faultline::guest {

// Counts the primes below `count` using `flags` (count bytes) as the sieve.
uint64_t CountPrimes(uint8_t* flags, uint64_t count);

// Fills `source` (word_count words) from a xorshift sequence, copies it to
// `destination`, and returns a checksum of the destination.
uint64_t CopyChecksum(uint64_t* source, uint64_t* destination,
                      uint64_t word_count);

// The number of primes below 2^bits for bits 20..28, or 0 if not tabled:
// lets memwork check its own sieve for the usual sizes.
uint64_t KnownPrimesBelowPowerOfTwo(uint32_t bits);

}  // namespace faultline::guest

#endif  // FAULTLINE_GUEST_DRIVERS_PAYLOADS_WORKLOAD_H_
