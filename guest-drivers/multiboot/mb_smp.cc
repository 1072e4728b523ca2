// A multiboot test kernel that starts the other CPUs as a PC boot loader's
// OS does: it reads the CPU count from fw_cfg (signature "QEMU", key 0x05
// FW_CFG_NB_CPUS), sends INIT and two startup IPIs through its local APIC,
// and waits for every application processor to run a real-mode trampoline
// into 32-bit code and check in. Exits 0 (QEMU status 1) when all came up.
#include "guest-drivers/multiboot/mb_runtime.h"
#include "proto/pc_machine.h"

using namespace faultline::guest::multiboot;  // NOLINT: a tiny kernel

namespace pc = ::faultline::pc_machine;

// Where the startup IPI sends APs (vector 0x08: 0x8000), below 1 MiB and
// clear of the boot loader's GDT (0x1000) and information (0x10000).
#define MB_TRAMPOLINE 0x8000
#define MB_STRINGIFY2(x) #x
#define MB_STRINGIFY(x) MB_STRINGIFY2(x)

extern "C" {
extern char mb_trampoline[];
extern char mb_trampoline_end[];
extern uint32_t mb_ap_stack_top;
volatile uint32_t mb_aps_up = 0;
volatile uint32_t mb_say_lock = 0;
void ApMain(uint32_t apic_id);
}

// clang-format off
asm(R"(
  .data
  .align 8
mb_gdt:
  .quad 0
  .quad 0
  .quad 0x00CF9A000000FFFF   /* 0x10: 32-bit code */
  .quad 0x00CF92000000FFFF   /* 0x18: data */
mb_gdtr:
  .word 31
  .long mb_gdt

  .text
  .code32
  .globl mb_load_gdt
mb_load_gdt:
  lgdt mb_gdtr
  ljmp $0x10, $1f
1:
  mov $0x18, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  ret

  /* Copied to MB_TRAMPOLINE: real mode to protected mode on mb_gdt. */
  .code16
  .globl mb_trampoline, mb_trampoline_end
mb_trampoline:
  cli
  xor %ax, %ax
  mov %ax, %ds
  lgdtl )" MB_STRINGIFY(MB_TRAMPOLINE) R"( + (mb_tramp_gdtr - mb_trampoline)
  mov %cr0, %eax
  or $1, %eax
  mov %eax, %cr0
  ljmpl $0x10, $mb_ap_entry32
  .align 4
mb_tramp_gdtr:
  .word 31
  .long mb_gdt
mb_trampoline_end:

  .code32
mb_ap_entry32:
  mov $0x18, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  /* One 4 KiB stack per AP, by arrival order. */
  mov $4096, %eax
  lock xaddl %eax, mb_ap_stack_next
  add $4096, %eax
  mov %eax, %esp
  mov $0xFEE00020, %eax
  mov (%eax), %eax
  shr $24, %eax
  push %eax
  call ApMain
2:
  cli
  hlt
  jmp 2b

  .data
  .align 4
mb_ap_stack_next:
  .long mb_ap_stacks
  .bss
  .align 16
mb_ap_stacks:
  .space 4096 * 16
  .text
)");
// clang-format on

extern "C" void mb_load_gdt();

namespace {

constexpr uint32_t kLocalApic = pc::kLocalApicAddress;
constexpr uint32_t kApicSpurious = 0xF0;
constexpr uint32_t kApicIcrLow = 0x300;
constexpr uint32_t kApicIcrHigh = 0x310;

void WriteApic(uint32_t offset, uint32_t value) {
  *reinterpret_cast<volatile uint32_t*>(kLocalApic + offset) = value;
}
uint32_t ReadApic(uint32_t offset) {
  return *reinterpret_cast<volatile uint32_t*>(kLocalApic + offset);
}

uint64_t ReadTsc() {
  uint32_t low, high;
  asm volatile("rdtsc" : "=a"(low), "=d"(high));
  return (static_cast<uint64_t>(high) << 32) | low;
}

void Lock() {
  while (__atomic_exchange_n(&mb_say_lock, 1u, __ATOMIC_ACQUIRE) != 0) {
    asm volatile("pause");
  }
}
void Unlock() { __atomic_store_n(&mb_say_lock, 0u, __ATOMIC_RELEASE); }

// Spins for about `ticks` TSC ticks.
void Wait(uint64_t ticks) {
  const uint64_t until = ReadTsc() + ticks;
  while (ReadTsc() < until) asm volatile("pause");
}

uint32_t Fail(const char* why) {
  Lock();
  Say("RESULT: fail mb_smp: ");
  Say(why);
  Say("\n");
  Unlock();
  return 99;
}

}  // namespace

extern "C" void ApMain(uint32_t apic_id) {
  Lock();
  Say("mb_smp: CPU with APIC id ");
  SayNumber(apic_id);
  Say(" is up\n");
  Unlock();
  __atomic_fetch_add(&mb_aps_up, 1u, __ATOMIC_RELEASE);
}

extern "C" uint32_t KernelMain(uint32_t magic, const Info*) {
  mb_load_gdt();
  Say("\nmb_smp: multiboot magic ");
  SayHex(magic);
  Say("\n");
  if (magic != kBootloaderMagic) return Fail("not booted by multiboot");
  char signature[5] = {};
  ReadFwCfg(pc::kFwCfgSignatureKey, reinterpret_cast<uint8_t*>(signature), 4);
  if (signature[0] != 'Q' || signature[1] != 'E' || signature[2] != 'M' ||
      signature[3] != 'U') {
    return Fail("no fw_cfg signature \"QEMU\" at port 0x510");
  }
  uint8_t count_bytes[2] = {};
  ReadFwCfg(pc::kFwCfgCpuCountKey, count_bytes, 2);
  const uint32_t cpus = count_bytes[0] | (uint32_t{count_bytes[1]} << 8);
  Say("mb_smp: fw_cfg says ");
  SayNumber(cpus);
  Say(" CPUs\n");
  if (cpus < 2) return Fail("needs at least 2 CPUs (vmm --vcpus=2)");
  if (cpus > 16) return Fail("more than 16 CPUs");

  const char* from = mb_trampoline;
  char* to = reinterpret_cast<char*>(MB_TRAMPOLINE);
  for (; from != mb_trampoline_end; ++from, ++to) *to = *from;
  WriteApic(kApicSpurious, ReadApic(kApicSpurious) | 0x100);
  WriteApic(kApicIcrHigh, 0);
  WriteApic(kApicIcrLow, (3u << 18) | 0x4500);  // INIT to all but self
  Wait(20'000'000);
  for (int startup = 0; startup < 2; ++startup) {
    WriteApic(kApicIcrLow, (3u << 18) | 0x4600 | (MB_TRAMPOLINE >> 12));
    Wait(4'000'000);
  }
  // Nested virtualization under emulation is slow: allow minutes of TSC.
  const uint64_t deadline = ReadTsc() + 400'000'000'000ull;
  while (__atomic_load_n(&mb_aps_up, __ATOMIC_ACQUIRE) < cpus - 1) {
    if (ReadTsc() > deadline) return Fail("not every CPU came up");
    asm volatile("pause");
  }
  Lock();
  Say("RESULT: pass mb_smp: ");
  SayNumber(cpus);
  Say(" CPUs up through INIT/SIPI\n");
  Unlock();
  return 0;
}
