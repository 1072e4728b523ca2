#include "guest-drivers/payloads/reporting.h"

#include "guest-drivers/runtime/runtime.h"
#include "guest-drivers/runtime/sync.h"

namespace faultline::guest {
namespace {

uint64_t g_reported = 0;

}  // namespace

void PrintingReporter::Report(uint64_t address, uint64_t expected,
                              uint64_t got) {
  const uint64_t number = AtomicAdd(&g_reported, 1);
  if (number > kMaxPrinted) return;
  Print("mismatch %llu (vCPU %u): at 0x%llx expected 0x%016llx got 0x%016llx\n",
        static_cast<unsigned long long>(number), vcpu_id_,
        static_cast<unsigned long long>(address),
        static_cast<unsigned long long>(expected),
        static_cast<unsigned long long>(got));
  if (number == kMaxPrinted) Print("(further mismatches are only counted)\n");
}

bool ArgsOkOrExit(Args& args, const char* payload, uint32_t vcpu_id) {
  if (args.ok()) return true;
  if (vcpu_id == 0) {
    ExitWithResult(kExitBadSetup, "%s: bad parameters: %s", payload,
                   args.error());
  }
  return false;
}

}  // namespace faultline::guest
