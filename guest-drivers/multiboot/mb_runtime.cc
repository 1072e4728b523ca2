#include "guest-drivers/multiboot/mb_runtime.h"

#include "proto/guest_abi.h"
#include "proto/pc_machine.h"

// clang-format off
// The multiboot header: magic, flags (page-aligned modules, memory info),
// checksum. No a.out kludge: the ELF32's segments say where to load.
asm(R"(
  .section .multiboot, "a"
  .align 4
  .long 0x1BADB002
  .long 0x00000003
  .long -(0x1BADB002 + 0x00000003)

  .text
  .code32
  .globl _start
_start:
  cli
  mov $mb_stack_top, %esp
  push %ebx
  push %eax
  call KernelMain
  push %eax
  call mb_exit
1:
  cli
  hlt
  jmp 1b

  .bss
  .align 16
  .space 16384
mb_stack_top:
  .text
)");
// clang-format on

namespace faultline::guest::multiboot {
namespace {

namespace abi = ::faultline::guest_abi;
namespace pc = ::faultline::pc_machine;

}  // namespace

void Say(const char* text) {
  for (; *text != '\0'; ++text) OutByte(abi::kSerialPort, *text);
}

void SayNumber(uint32_t value) {
  char digits[11];
  int count = 0;
  do {
    digits[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (count > 0) OutByte(abi::kSerialPort, digits[--count]);
}

void SayHex(uint32_t value) {
  Say("0x");
  for (int shift = 28; shift >= 0; shift -= 4) {
    OutByte(abi::kSerialPort, "0123456789abcdef"[(value >> shift) & 0xF]);
  }
}

bool FindNumber(const char* text, const char* key, uint32_t* value) {
  for (const char* at = text; *at != '\0'; ++at) {
    if (at != text && at[-1] != ' ') continue;
    int k = 0;
    while (key[k] != '\0' && at[k] == key[k]) ++k;
    if (key[k] != '\0') continue;
    *value = 0;
    for (const char* d = at + k; *d >= '0' && *d <= '9'; ++d) {
      *value = *value * 10 + static_cast<uint32_t>(*d - '0');
    }
    return true;
  }
  return false;
}

bool Contains(const char* text, const char* part) {
  for (; *text != '\0'; ++text) {
    int i = 0;
    while (part[i] != '\0' && text[i] == part[i]) ++i;
    if (part[i] == '\0') return true;
  }
  return part[0] == '\0';
}

void ReadFwCfg(uint16_t key, uint8_t* out, uint32_t bytes) {
  OutWord(pc::kFwCfgSelectorPort, key);
  for (uint32_t i = 0; i < bytes; ++i) out[i] = InByte(pc::kFwCfgDataPort);
}

void QemuExit(uint32_t value) {
  asm volatile("outl %0, %1" : : "a"(value), "Nd"(pc::kDebugExitPort));
  for (;;) asm volatile("cli; hlt");
}

}  // namespace faultline::guest::multiboot

extern "C" [[noreturn]] void mb_exit(uint32_t value) {
  faultline::guest::multiboot::QemuExit(value);
}
