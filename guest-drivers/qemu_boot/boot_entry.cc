// The CPU-mode half of the QEMU boot shim: a multiboot header, the 32-bit
// entry QEMU jumps to, the switch to long mode, and the real-mode trampoline
// that brings application processors to long mode on the ABI's page tables
// and parks them until the payload starts. The C++ half is boot_shim.cc.
#include <stdint.h>

#include "guest-drivers/qemu_boot/boot_shim.h"

// Literals the asm needs; boot_shim.cc checks them against guest_abi.h.
#define SHIM_GDT 0x2000
#define SHIM_PML4 0x3000
#define SHIM_AP_TRAMPOLINE 0xD000
#define SHIM_STRINGIFY2(x) #x
#define SHIM_STRINGIFY(x) SHIM_STRINGIFY2(x)

// clang-format off
// Multiboot v1 with the "a.out kludge" (flag 16): QEMU loads the flat image
// at the addresses in the header, so the shim may be built as ELF64.
asm(R"(
  .section .multiboot, "a"
  .align 4
multiboot_header:
  .long 0x1BADB002
  .long 0x00010000
  .long -(0x1BADB002 + 0x00010000)
  .long multiboot_header
  .long __shim_start
  .long __shim_load_end
  .long __shim_bss_end
  .long shim_entry32
)");

// Long mode for the calling CPU on the tables at `pml4`: PAE, CR3, EFER.LME,
// paging, then a far jump to 64-bit `target` through code selector 0x08.
#define SHIM_ENTER_LONG_MODE(target, pml4) \
  "  mov %cr4, %eax\n"                          \
  "  or $0x20, %eax\n"                          \
  "  mov %eax, %cr4\n"                          \
  "  mov $" SHIM_STRINGIFY(pml4) ", %eax\n"     \
  "  mov %eax, %cr3\n"                          \
  "  mov $0xC0000080, %ecx\n"                   \
  "  rdmsr\n"                                   \
  "  or $0x100, %eax\n"                         \
  "  wrmsr\n"                                   \
  "  mov %cr0, %eax\n"                          \
  "  or $0x80000001, %eax\n"                    \
  "  mov %eax, %cr0\n"                          \
  "  ljmp $0x08, $" #target "\n"

asm(R"(
  .text
  .code32
  .globl shim_entry32
shim_entry32:
  cli
  mov $shim_bsp_stack_top, %esp
  mov %ebx, shim_multiboot_info
  /* GDT: null, 64-bit code 0x08, flat data 0x10, 32-bit code 0x18. */
  movl $0, )" SHIM_STRINGIFY(SHIM_GDT) R"(
  movl $0, )" SHIM_STRINGIFY(SHIM_GDT) R"( + 4
  movl $0x0000FFFF, )" SHIM_STRINGIFY(SHIM_GDT) R"( + 8
  movl $0x00AF9A00, )" SHIM_STRINGIFY(SHIM_GDT) R"( + 12
  movl $0x0000FFFF, )" SHIM_STRINGIFY(SHIM_GDT) R"( + 16
  movl $0x00CF9200, )" SHIM_STRINGIFY(SHIM_GDT) R"( + 20
  movl $0x0000FFFF, )" SHIM_STRINGIFY(SHIM_GDT) R"( + 24
  movl $0x00CF9A00, )" SHIM_STRINGIFY(SHIM_GDT) R"( + 28
  lgdt shim_gdtr
  /* QEMU's multiboot information sits where the ABI's page tables go, so
     the boot CPU starts on interim tables (1 GiB identity map) of its own;
     shim_main reads that information, then builds the ABI's tables. */
  movl $(shim_boot_pdpt + 3), shim_boot_pml4
  movl $(shim_boot_pd + 3), shim_boot_pdpt
  xor %ecx, %ecx
1:
  mov %ecx, %eax
  shl $21, %eax
  or $0x83, %eax
  mov %eax, shim_boot_pd(, %ecx, 8)
  inc %ecx
  cmp $512, %ecx
  jb 1b
)" SHIM_ENTER_LONG_MODE(shim_bsp64, shim_boot_pml4) R"(

  .code32
  .globl shim_ap_entry32
shim_ap_entry32:
  mov $0x10, %eax
  mov %eax, %ds
  mov %eax, %es
  mov %eax, %ss
)" SHIM_ENTER_LONG_MODE(shim_ap64, SHIM_PML4) R"(

  .code64
shim_bsp64:
  mov $0x10, %eax
  mov %eax, %ds
  mov %eax, %es
  mov %eax, %ss
  mov %eax, %fs
  mov %eax, %gs
  mov $shim_bsp_stack_top, %esp
  mov shim_multiboot_info, %edi
  call shim_main
  cli
  hlt

shim_ap64:
  mov $0x10, %eax
  mov %eax, %ds
  mov %eax, %es
  mov %eax, %ss
  mov %eax, %fs
  mov %eax, %gs
  mov $1, %esi
  lock xadd %esi, shim_aps_arrived
  inc %esi
3:
  pause
  cmpl $0, shim_release
  je 3b
  mov shim_payload_entry, %rax
  mov $0x1000, %edi
  xor %esp, %esp
  xor %ebp, %ebp
  jmp *%rax

  /* Jumps to the payload as the ABI says: RSP = 0, RDI = boot info,
     RSI = vCPU id (here 0). Called by shim_main on the boot CPU. */
  .globl shim_enter_payload
shim_enter_payload:
  mov shim_payload_entry, %rax
  mov $0x1000, %edi
  xor %esi, %esi
  xor %esp, %esp
  xor %ebp, %ebp
  jmp *%rax

  /* Copied to SHIM_AP_TRAMPOLINE, where the startup IPI starts APs in real
     mode: load the GDT, enter protected mode, jump to shim_ap_entry32. */
  .code16
  .globl shim_ap_trampoline, shim_ap_trampoline_end
shim_ap_trampoline:
  cli
  xor %ax, %ax
  mov %ax, %ds
  lgdtl )" SHIM_STRINGIFY(SHIM_AP_TRAMPOLINE) R"( + (shim_ap_gdtr - shim_ap_trampoline)
  mov %cr0, %eax
  or $1, %eax
  mov %eax, %cr0
  ljmpl $0x18, $shim_ap_entry32
  .align 4
shim_ap_gdtr:
  .word 31
  .long )" SHIM_STRINGIFY(SHIM_GDT) R"(
shim_ap_trampoline_end:
  .code64

  .data
  .align 8
shim_gdtr:
  .word 31
  .long )" SHIM_STRINGIFY(SHIM_GDT) R"(
  .globl shim_multiboot_info, shim_aps_arrived, shim_release, shim_payload_entry
shim_multiboot_info:
  .long 0
shim_aps_arrived:
  .long 0
shim_release:
  .long 0
  .align 8
shim_payload_entry:
  .quad 0

  .bss
  .align 4096
shim_boot_pml4:
  .space 4096
shim_boot_pdpt:
  .space 4096
shim_boot_pd:
  .space 4096
  .space 16384
shim_bsp_stack_top:
  .text
)");
// clang-format on
