// Entry point, per-vCPU stacks, startup handshake and exit.
#include "guest-drivers/runtime/runtime.h"

#include <stdarg.h>

#include "guest-drivers/runtime/boot_info.h"
#include "guest-drivers/runtime/exceptions.h"
#include "guest-drivers/runtime/io.h"
#include "guest-drivers/runtime/sync.h"

// The asm below needs these as literals.
#define FAULTLINE_MAX_VCPUS 16
#define FAULTLINE_STACK_SHIFT 15
#define FAULTLINE_STRINGIFY2(x) #x
#define FAULTLINE_STRINGIFY(x) FAULTLINE_STRINGIFY2(x)

static_assert(FAULTLINE_MAX_VCPUS == faultline::guest_abi::kMaxVcpus,
              "stack table must cover every vCPU the ABI allows");

extern "C" {
alignas(4096) unsigned char faultline_vcpu_stacks[FAULTLINE_MAX_VCPUS]
                                                 [1 << FAULTLINE_STACK_SHIFT];
extern char __image_end[];
[[noreturn]] void faultline_runtime_enter(
    const faultline::guest::BootInfo* boot, uint64_t vcpu_id);
}

// Every vCPU arrives here with RSP = 0, RDI = boot info, RSI = vCPU id. A vCPU
// whose id has no stack slot cannot run any code safely: it halts.
asm(R"(
  .section .text.start, "ax"
  .globl _start
  .type _start, @function
_start:
  cli
  cld
  cmp $)" FAULTLINE_STRINGIFY(FAULTLINE_MAX_VCPUS) R"(, %rsi
  jae 1f
  lea 1(%rsi), %rax
  shl $)" FAULTLINE_STRINGIFY(FAULTLINE_STACK_SHIFT) R"(, %rax
  lea faultline_vcpu_stacks(%rip), %rsp
  add %rax, %rsp
  xor %ebp, %ebp
  call faultline_runtime_enter
1:
  cli
  hlt
  jmp 1b
  .size _start, . - _start
  .text
)");

namespace faultline::guest {
namespace {

uint64_t g_started = 0;   // set by vCPU 0 once the boot info checked out
uint64_t g_returned = 0;  // vCPUs whose GuestMain has returned
uint32_t g_vcpu_count = 1;
Barrier g_all_vcpus;

// Waits for vCPU 0 to end the run. A pause loop rather than hlt, so that the
// run's end does not depend on how the VMM treats a halted vCPU.
[[noreturn]] void Park() {
  for (;;) CpuRelax();
}

}  // namespace

uint32_t VcpuCount() { return g_vcpu_count; }

void WaitForAllVcpus() { g_all_vcpus.Wait(); }

uint64_t LinkedImageEnd() { return reinterpret_cast<uint64_t>(__image_end); }

uint32_t CurrentVcpuFromStack(uint64_t stack_address) {
  const auto base = reinterpret_cast<uint64_t>(faultline_vcpu_stacks);
  return static_cast<uint32_t>((stack_address - base) >> FAULTLINE_STACK_SHIFT);
}

void Exit(uint32_t status) {
  OutLong(guest_abi::kDebugExitPort, status);
  HaltForever();
}

void ExitWithResult(uint32_t status, const char* format, ...) {
  va_list args;
  va_start(args, format);
  PrintFinalV(status == kExitPass ? "RESULT: pass " : "RESULT: fail ", format,
              args);
  va_end(args);
  Exit(status);
}

// Called by _start on each vCPU's own stack.
extern "C" [[noreturn]] void faultline_runtime_enter(const BootInfo* boot,
                                                     uint64_t vcpu_id) {
  if (vcpu_id == 0) {
    InitConsole();
    BuildExceptionTable();
    LoadExceptionTable();
    ErrorMessage error;
    if (!CheckBootInfo(*boot, LinkedImageEnd(), &error)) {
      ExitWithResult(kExitBadSetup, "bad environment: %s", error.text());
    }
    g_vcpu_count = boot->vcpu_count;
    g_all_vcpus.Reset(g_vcpu_count);
    AtomicStore(&g_started, 1);  // publishes the count and the barrier
  } else {
    while (AtomicLoad(&g_started) == 0) CpuRelax();
    if (vcpu_id >= g_vcpu_count) Park();
    LoadExceptionTable();
  }
  const int status = GuestMain(*boot, static_cast<uint32_t>(vcpu_id));
  AtomicAdd(&g_returned, 1);
  if (vcpu_id != 0) Park();
  while (AtomicLoad(&g_returned) < g_vcpu_count) CpuRelax();
  Exit(static_cast<uint32_t>(status));
}

}  // namespace faultline::guest
