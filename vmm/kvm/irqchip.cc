#include "vmm/kvm/irqchip.h"

#include <cstdio>

#include "proto/base/status_macros.h"

namespace faultline::vmm {

absl::StatusOr<std::unique_ptr<KvmIrqchip>> KvmIrqchip::Create(VmFd* vm) {
  RETURN_IF_ERROR(vm->CreateIrqchip());
  RETURN_IF_ERROR(vm->CreatePit2());
  return std::unique_ptr<KvmIrqchip>(new KvmIrqchip(vm));
}

void KvmIrqchip::SetIrqLevel(uint32_t gsi, bool level) {
  absl::Status set = vm_->SetIrqLine(gsi, level);
  if (set.ok()) return;
  if (failures_.fetch_add(1) == 0) {
    std::fprintf(stderr, "vmm: interrupt lost: %s\n", set.ToString().c_str());
  }
}

absl::Status KvmIrqchip::SignalMsi(uint64_t address, uint32_t data) {
  absl::Status sent = vm_->SignalMsi(address, data);
  if (!sent.ok() && failures_.fetch_add(1) == 0) {
    std::fprintf(stderr, "vmm: MSI lost: %s\n", sent.ToString().c_str());
  }
  return sent;
}

}  // namespace faultline::vmm
