// What each boot format needs from the machine, in one place beside the VM
// builder's numbered steps: kernel guests (Linux, multiboot) get KVM's
// in-kernel irqchip and PIT with the identity-map page, the PC devices of
// pc_machine.h with port 0xF4 as their format says, and their shutdowns
// read as resets; payloads get the bare machine of guest_abi.h. Also the
// guest's serial input, each vCPU's entry registers and how a kernel's
// power off or reset ends the run.
//
// Threading: plain functions, called from the builder's thread;
// KernelEndReason() is pure and safe from any thread.
#ifndef FAULTLINE_VMM_GUEST_MACHINE_H_
#define FAULTLINE_VMM_GUEST_MACHINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "vmm/config.h"
#include "vmm/devices/device_set.h"
#include "vmm/devices/serial_input.h"
#include "vmm/kvm/irqchip.h"
#include "vmm/kvm/vcpu_fd.h"
#include "vmm/kvm/vm_fd.h"
#include "vmm/loader/guest_image.h"
#include "vmm/stop/stop_reason.h"

namespace faultline::vmm {

inline bool IsKernel(BootFormat format) {
  return format != BootFormat::kPayload;
}

// RAM faults ask for this many following pages unless --prefetch says:
// kernel boots write long runs of pages (Linux's decompressor fills 56 MiB).
inline uint32_t DefaultPrefetchPages(BootFormat format) {
  return IsKernel(format) ? 63 : 7;
}

// Kernel guests: the identity-map page, irqchip and PIT, before any vCPU.
// Payloads: nullptr (they poll and run without interrupts).
absl::StatusOr<std::unique_ptr<KvmIrqchip>> CreateInterruptControllers(
    BootFormat format, VmFd* vm);

// Fills in the devices `format` needs beyond the payload's; the reset and
// power-off callbacks are the caller's.
void ConfigureDevices(BootFormat format, const VmmConfig& config,
                      IrqSink* irq_sink, DeviceSetConfig* devices);

// The serial input --serial_input asks for, or nullptr for none.
absl::StatusOr<std::unique_ptr<SerialInput>> StartSerialInput(
    const SerialInputConfig& config, Serial8250* uart);

// Registers of vCPU `id` as the image says it enters; a kernel's other
// vCPUs are left as KVM made them, waiting for INIT/SIPI.
absl::Status SetEntryRegisters(const LoadedImage& loaded, uint32_t id,
                               VcpuFd& vcpu);

// A kernel guest powered off or reset (`kind`, described by `how`): the
// stop carries the status it latched at port 0xF4 (pc_machine.h), or 0 for
// a power off and kExitGuestReset for a reset without one.
StopReason KernelEndReason(StopKind kind, const std::string& how,
                           std::optional<uint8_t> latched);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_GUEST_MACHINE_H_
