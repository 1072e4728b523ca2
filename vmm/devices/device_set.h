// The VM's devices on their buses, where guest_abi.h puts them: the 8250
// serial port, the debug-exit port and PCI configuration space (the host
// bridge, and the PCI memory device when it has memory) on the port bus;
// the PCI memory device's registers on the MMIO bus, with its MSI and its
// page events when the VMM can deliver and serve them. Kernel guests also
// get the PC of pc_machine.h: the UART's interrupt, the CMOS RTC, the i8042,
// fw_cfg and the ACPI power registers. Building them here, not in the VM
// builder, lets tests drive the whole device model without KVM.
//
// Threading: Create() on one thread; then the buses may be used from every
// vCPU thread at once (io_bus.h), and the devices lock their own state.
#ifndef FAULTLINE_VMM_DEVICES_DEVICE_SET_H_
#define FAULTLINE_VMM_DEVICES_DEVICE_SET_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "vmm/devices/acpi_pm.h"
#include "vmm/devices/cmos_rtc.h"
#include "vmm/devices/debug_exit.h"
#include "vmm/devices/fw_cfg.h"
#include "vmm/devices/i8042.h"
#include "vmm/devices/io_bus.h"
#include "vmm/devices/irq_line.h"
#include "vmm/devices/pci.h"
#include "vmm/devices/pci_msi.h"
#include "vmm/devices/pcimem_device.h"
#include "vmm/devices/serial.h"
#include "vmm/devices/window_pages.h"

namespace faultline::vmm {

struct DeviceSetConfig {
  int serial_fd = -1;         // where guest serial output goes (not owned)
  uint64_t pcimem_bytes = 0;  // the memory device's window; 0: no device
  // Where the memory device's MSI goes (not owned); null: no MSI capability.
  MsiSink* pcimem_msi = nullptr;
  // The fault path behind the memory device's page events (not owned);
  // null: the device offers none (FEATURES reads 0).
  WindowPageRequests* pcimem_requests = nullptr;
  // Called on the vCPU thread with the status the guest wrote to the
  // debug-exit port (its meaning is debug_exit_mode's).
  std::function<void(uint8_t status)> on_guest_exit;
  DebugExitMode debug_exit_mode = DebugExitMode::kPayload;

  // Interrupt lines go here (not owned; KVM_IRQ_LINE in the VMM). Null: no
  // interrupts, as payloads poll.
  IrqSink* irq_sink = nullptr;
  // The PC devices of pc_machine.h for kernel guests: CMOS RTC, i8042,
  // fw_cfg (reporting vcpu_count and ram_bytes) and the ACPI power
  // registers, whose reset and power off come back through the callbacks
  // (on the vCPU thread; both required then).
  bool pc_devices = false;
  uint32_t vcpu_count = 1;
  uint64_t ram_bytes = 0;
  std::function<void(const std::string& how)> on_reset;
  std::function<void(const std::string& how)> on_power_off;
  CmosRtc::Clock rtc_clock = [] { return absl::Now(); };
};

class DeviceSet {
 public:
  static absl::StatusOr<std::unique_ptr<DeviceSet>> Create(
      DeviceSetConfig config);

  DeviceSet(const DeviceSet&) = delete;
  DeviceSet& operator=(const DeviceSet&) = delete;

  IoBus& port_bus() { return port_bus_; }
  IoBus& mmio_bus() { return mmio_bus_; }
  Serial8250& serial() { return serial_; }
  // The status a Linux guest reported through the status latch, if any.
  std::optional<uint8_t> latched_status() const {
    return debug_exit_.latched_status();
  }
  // What the fault path reports window pages to; null without the device.
  WindowPageEvents* pcimem_events() { return pcimem_registers_.get(); }

 private:
  explicit DeviceSet(const DeviceSetConfig& config);
  absl::Status AddPcDevices(const DeviceSetConfig& config);

  IoBus port_bus_{"port I/O"};
  IoBus mmio_bus_{"MMIO"};
  IrqLine serial_irq_;
  IrqLine keyboard_irq_;
  Serial8250 serial_;
  DebugExit debug_exit_;
  PciConfigSpace pci_;
  PciFunction host_bridge_;
  std::unique_ptr<PciMsiCapability> pcimem_msi_;
  std::unique_ptr<PciFunction> pcimem_function_;
  std::unique_ptr<PciMemRegisters> pcimem_registers_;
  std::unique_ptr<CmosRtc> rtc_;
  std::unique_ptr<I8042> i8042_;
  std::unique_ptr<FwCfg> fw_cfg_;
  std::unique_ptr<AcpiPm> acpi_pm_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_DEVICE_SET_H_
