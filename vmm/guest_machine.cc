#include "vmm/guest_machine.h"

#include <unistd.h>

#include "absl/strings/str_format.h"
#include "proto/base/status_macros.h"
#include "vmm/exit_codes.h"
#include "vmm/memory/pc_memory_map.h"

namespace faultline::vmm {

absl::StatusOr<std::unique_ptr<KvmIrqchip>> CreateInterruptControllers(
    BootFormat format, VmFd* vm) {
  if (!IsKernel(format)) return nullptr;
  RETURN_IF_ERROR(vm->SetIdentityMapAddress(kKvmIdentityMapAddress));
  return KvmIrqchip::Create(vm);
}

void ConfigureDevices(BootFormat format, const VmmConfig& config,
                      IrqSink* irq_sink, DeviceSetConfig* devices) {
  switch (format) {
    case BootFormat::kPayload:
      devices->debug_exit_mode = DebugExitMode::kPayload;
      return;
    case BootFormat::kLinux:
      devices->debug_exit_mode = DebugExitMode::kStatusLatch;
      break;
    case BootFormat::kMultiboot:
      devices->debug_exit_mode = DebugExitMode::kQemuIsaDebugExit;
      break;
  }
  devices->irq_sink = irq_sink;
  devices->pc_devices = true;
  devices->vcpu_count = config.vcpu_count;
  devices->ram_bytes = config.ram_bytes;
}

absl::StatusOr<std::unique_ptr<SerialInput>> StartSerialInput(
    const SerialInputConfig& config, Serial8250* uart) {
  switch (config.kind) {
    case SerialInputConfig::Kind::kNone:
      return nullptr;
    case SerialInputConfig::Kind::kStdin:
      return SerialInput::FromFd(STDIN_FILENO, uart);
    case SerialInputConfig::Kind::kUnixSocket:
      return SerialInput::ListenUnix(config.socket_path, uart);
  }
  return nullptr;
}

absl::Status SetEntryRegisters(const LoadedImage& loaded, uint32_t id,
                               VcpuFd& vcpu) {
  const std::optional<EntryState> entry = VcpuEntry(loaded, id);
  if (!entry.has_value()) return absl::OkStatus();
  ASSIGN_OR_RETURN(kvm_sregs sregs, vcpu.GetSpecialRegisters());
  ApplyEntrySpecialRegisters(*entry, &sregs);
  RETURN_IF_ERROR(vcpu.SetSpecialRegisters(sregs));
  return vcpu.SetRegisters(EntryRegisters(*entry));
}

StopReason KernelEndReason(StopKind kind, const std::string& how,
                           std::optional<uint8_t> latched) {
  const uint8_t status =
      latched.value_or(kind == StopKind::kGuestReset ? kExitGuestReset : 0);
  return StopReason(kind, status,
                    latched.has_value()
                        ? absl::StrFormat("%s; status %u", how, status)
                        : absl::StrFormat("%s without a status", how));
}

}  // namespace faultline::vmm
