// The little runtime of faultline's multiboot v1 test kernels: 32-bit
// protected mode, no paging, as QEMU's -kernel (and `vmm --kernel`) enters
// them. Serial output on COM1, the multiboot information, key=value
// numbers from the command line, fw_cfg, and the end of the run through
// QEMU's isa-debug-exit at port 0xF4 (status (v << 1) | 1). Everything is
// QEMU-compatible: these kernels run unchanged under `qemu -kernel`.
// Freestanding, 32-bit only (no 64-bit division: no libgcc here).
#ifndef FAULTLINE_GUEST_DRIVERS_MULTIBOOT_MB_RUNTIME_H_
#define FAULTLINE_GUEST_DRIVERS_MULTIBOOT_MB_RUNTIME_H_

#include <stdint.h>

namespace faultline::guest::multiboot {

inline constexpr uint32_t kBootloaderMagic = 0x2BADB002;
inline constexpr uint32_t kInfoCmdline = 1u << 2;
inline constexpr uint32_t kInfoModules = 1u << 3;

struct Info {
  uint32_t flags;
  uint32_t mem_lower;
  uint32_t mem_upper;
  uint32_t boot_device;
  uint32_t cmdline;
  uint32_t mods_count;
  uint32_t mods_addr;
};

struct Module {
  uint32_t start;
  uint32_t end;
  uint32_t string;
  uint32_t reserved;
};

inline void OutByte(uint16_t port, uint8_t value) {
  asm volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}
inline void OutWord(uint16_t port, uint16_t value) {
  asm volatile("outw %0, %1" : : "a"(value), "Nd"(port));
}
inline uint8_t InByte(uint16_t port) {
  uint8_t value;
  asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}

// Serial output; Say is one call's worth of text, not locked.
void Say(const char* text);
void SayNumber(uint32_t value);
void SayHex(uint32_t value);

// "key=N" (decimal) anywhere in `text` after a space or at its start.
bool FindNumber(const char* text, const char* key, uint32_t* value);
bool Contains(const char* text, const char* part);

// fw_cfg item `key` into `out` (at most `bytes` bytes).
void ReadFwCfg(uint16_t key, uint8_t* out, uint32_t bytes);

// Ends the run through QEMU's isa-debug-exit: the status is (v << 1) | 1.
[[noreturn]] void QemuExit(uint32_t value);

}  // namespace faultline::guest::multiboot

// Each test kernel defines it; its return value goes to QemuExit().
extern "C" uint32_t KernelMain(uint32_t magic,
                               const faultline::guest::multiboot::Info* info);

#endif  // FAULTLINE_GUEST_DRIVERS_MULTIBOOT_MB_RUNTIME_H_
