#include "guest-drivers/runtime/exceptions.h"

#include "guest-drivers/runtime/runtime.h"
#include "proto/guest_abi.h"

namespace faultline::guest {
namespace {

constexpr int kExceptionVectors = 32;
constexpr int kStubBytes = 16;  // every stub is padded to this (asm below)

struct [[gnu::packed]] Gate {
  uint16_t offset_low;
  uint16_t selector;
  uint8_t interrupt_stack;
  uint8_t type_attributes;
  uint16_t offset_middle;
  uint32_t offset_high;
  uint32_t reserved;
};
static_assert(sizeof(Gate) == 16, "64-bit IDT gate");

struct [[gnu::packed]] TableRegister {
  uint16_t limit;
  uint64_t base;
};

// What the stub and the CPU pushed, lowest address first.
struct ExceptionFrame {
  uint64_t vector;
  uint64_t error_code;
  uint64_t rip;
  uint64_t cs;
  uint64_t rflags;
  uint64_t rsp;
  uint64_t ss;
};

constexpr uint8_t kPresentInterruptGate = 0x8E;

alignas(16) Gate g_idt[kExceptionVectors];

const char* const kNames[kExceptionVectors] = {"divide error",
                                               "debug",
                                               "NMI",
                                               "breakpoint",
                                               "overflow",
                                               "bound range",
                                               "invalid opcode",
                                               "device not available",
                                               "double fault",
                                               "coprocessor overrun",
                                               "invalid TSS",
                                               "segment not present",
                                               "stack fault",
                                               "general protection",
                                               "page fault",
                                               "reserved",
                                               "x87 error",
                                               "alignment check",
                                               "machine check",
                                               "SIMD error",
                                               "virtualization",
                                               "control protection",
                                               "reserved",
                                               "reserved",
                                               "reserved",
                                               "reserved",
                                               "reserved",
                                               "reserved",
                                               "hypervisor injection",
                                               "VMM communication",
                                               "security",
                                               "reserved"};

constexpr uint32_t kMachineCheckVector = 18;
constexpr uint32_t kMcgCapMsr = 0x179;
constexpr uint32_t kMc0StatusMsr = 0x401;  // bank i: 0x401 + 4 * i
constexpr uint32_t kMc0AddressMsr = 0x402;
constexpr uint64_t kMciStatusValid = 1ull << 63;
constexpr uint64_t kMciStatusAddressValid = 1ull << 58;
constexpr uint64_t kMciStatusActionRequired = 1ull << 55;

uint64_t ReadMsr(uint32_t msr) {
  uint32_t low, high;
  asm volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
  return (static_cast<uint64_t>(high) << 32) | low;
}

// Reports the first valid machine-check bank: for a poisoned page, its
// guest-physical address, which the run's checks compare with what the
// broker was told to fail.
[[noreturn]] void ReportMachineCheck(uint32_t vcpu, uint64_t rip) {
  const uint32_t banks = static_cast<uint32_t>(ReadMsr(kMcgCapMsr) & 0xFF);
  for (uint32_t bank = 0; bank < banks; ++bank) {
    const uint64_t status = ReadMsr(kMc0StatusMsr + 4 * bank);
    if ((status & kMciStatusValid) == 0) continue;
    const uint64_t address = (status & kMciStatusAddressValid) != 0
                                 ? ReadMsr(kMc0AddressMsr + 4 * bank)
                                 : 0;
    ExitWithResult(kExitMachineCheck,
                   "machine check on vCPU %u: %s memory error at "
                   "guest-physical 0x%llx (bank %u status 0x%llx) rip 0x%llx",
                   vcpu,
                   (status & kMciStatusActionRequired) != 0 ? "action-required"
                                                            : "uncorrected",
                   static_cast<unsigned long long>(address), bank,
                   static_cast<unsigned long long>(status),
                   static_cast<unsigned long long>(rip));
  }
  ExitWithResult(kExitMachineCheck,
                 "machine check on vCPU %u with no valid bank, rip 0x%llx",
                 vcpu, static_cast<unsigned long long>(rip));
}

uint64_t ReadCr2() {
  uint64_t value;
  asm volatile("mov %%cr2, %0" : "=r"(value));
  return value;
}

bool CpuHasMachineCheck() {
  uint32_t eax = 1, ebx, ecx = 0, edx;
  asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
  return (edx & (1u << 7)) != 0;
}

void EnableMachineCheck() {
  uint64_t cr4;
  asm volatile("mov %%cr4, %0" : "=r"(cr4));
  asm volatile("mov %0, %%cr4" : : "r"(cr4 | (1u << 6)));
}

}  // namespace
}  // namespace faultline::guest

extern "C" char faultline_exception_stubs[];

// One 16-byte stub per vector: pushes a zero error code where the CPU pushes
// none, then the vector, then joins the common path.
asm(R"(
  .text
  .balign 16
faultline_exception_stubs:
  .set vector, 0
  .rept 32
  .balign 16
  .if (vector == 8) || (vector == 10) || (vector == 11) || (vector == 12) || (vector == 13) || (vector == 14) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
  .else
  pushq $0
  .endif
  pushq $vector
  jmp faultline_exception_common
  .set vector, vector + 1
  .endr
faultline_exception_common:
  mov %rsp, %rdi
  and $-16, %rsp
  call faultline_exception_handler
  cli
  hlt
)");

namespace faultline::guest {

// Called by the stubs above with the frame they and the CPU pushed.
extern "C" [[noreturn]] void faultline_exception_handler(
    const ExceptionFrame* frame) {
  const uint64_t cr2 = ReadCr2();
  const uint32_t vector = static_cast<uint32_t>(frame->vector);
  const uint32_t vcpu = CurrentVcpuFromStack(reinterpret_cast<uint64_t>(frame));
  if (vector == kMachineCheckVector) ReportMachineCheck(vcpu, frame->rip);
  ExitWithResult(
      kExitCpuException,
      "cpu exception on vCPU %u: %s (vector %u) error 0x%llx rip 0x%llx "
      "cr2 0x%llx",
      vcpu, vector < kExceptionVectors ? kNames[vector] : "unknown", vector,
      static_cast<unsigned long long>(frame->error_code),
      static_cast<unsigned long long>(frame->rip),
      static_cast<unsigned long long>(cr2));
}

void BuildExceptionTable() {
  const auto stubs = reinterpret_cast<uint64_t>(faultline_exception_stubs);
  for (int vector = 0; vector < kExceptionVectors; ++vector) {
    const uint64_t handler = stubs + static_cast<uint64_t>(vector) * kStubBytes;
    g_idt[vector] = Gate{static_cast<uint16_t>(handler),
                         guest_abi::kCodeSelector,
                         0,
                         kPresentInterruptGate,
                         static_cast<uint16_t>(handler >> 16),
                         static_cast<uint32_t>(handler >> 32),
                         0};
  }
}

void LoadExceptionTable() {
  const TableRegister idtr{sizeof(g_idt) - 1,
                           reinterpret_cast<uint64_t>(g_idt)};
  asm volatile("lidt %0" : : "m"(idtr) : "memory");
  // Machine-check delivery is per CPU; without it a machine check shuts the
  // VM down with no word about why.
  if (CpuHasMachineCheck()) EnableMachineCheck();
}

}  // namespace faultline::guest
