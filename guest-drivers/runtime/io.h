// Port I/O, MMIO and CPU helpers for guest code. Every access is volatile or
// inline asm so the compiler neither drops nor merges device accesses.
#ifndef FAULTLINE_GUEST_DRIVERS_RUNTIME_IO_H_
#define FAULTLINE_GUEST_DRIVERS_RUNTIME_IO_H_

#include <stdint.h>

namespace faultline::guest {

inline void OutByte(uint16_t port, uint8_t value) {
  asm volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

inline uint8_t InByte(uint16_t port) {
  uint8_t value;
  asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port) : "memory");
  return value;
}

inline void OutLong(uint16_t port, uint32_t value) {
  asm volatile("outl %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

inline uint32_t InLong(uint16_t port) {
  uint32_t value;
  asm volatile("inl %1, %0" : "=a"(value) : "Nd"(port) : "memory");
  return value;
}

inline uint32_t MmioRead32(uint64_t address) {
  return *reinterpret_cast<const volatile uint32_t*>(address);
}

inline uint64_t MmioRead64(uint64_t address) {
  return *reinterpret_cast<const volatile uint64_t*>(address);
}

inline void MmioWrite32(uint64_t address, uint32_t value) {
  *reinterpret_cast<volatile uint32_t*>(address) = value;
}

// Guest cycles since reset, for timing inside the guest only.
inline uint64_t ReadTsc() {
  uint32_t low, high;
  asm volatile("rdtsc" : "=a"(low), "=d"(high));
  return (static_cast<uint64_t>(high) << 32) | low;
}

// Tells the CPU (and a hypervisor watching for spin loops) we are waiting.
inline void CpuRelax() { asm volatile("pause" ::: "memory"); }

[[noreturn]] inline void HaltForever() {
  for (;;) asm volatile("cli; hlt" ::: "memory");
}

}  // namespace faultline::guest

#endif  // FAULTLINE_GUEST_DRIVERS_RUNTIME_IO_H_
