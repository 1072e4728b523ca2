#include "vmm/devices/device_set.h"

#include <utility>

#include "proto/base/status_macros.h"
#include "proto/guest_abi.h"
#include "proto/pc_machine.h"

namespace faultline::vmm {

namespace abi = ::faultline::guest_abi;
namespace pc = ::faultline::pc_machine;

static_assert(pc::kCmosIndexPort == CmosRtc::kBasePort &&
              pc::kCmosDataPort == CmosRtc::kBasePort + 1);
static_assert(pc::kI8042DataPort == I8042::kBasePort &&
              pc::kI8042CommandPort == I8042::kBasePort + 4);
static_assert(pc::kFwCfgSelectorPort == FwCfg::kBasePort &&
              pc::kFwCfgDataPort == FwCfg::kBasePort + 1);
static_assert(pc::kDebugExitPort == abi::kDebugExitPort);

DeviceSet::DeviceSet(const DeviceSetConfig& config)
    : serial_irq_(config.irq_sink, pc::kSerialIrq),
      keyboard_irq_(config.irq_sink, pc::kKeyboardIrq),
      serial_(config.serial_fd, &serial_irq_),
      debug_exit_(config.on_guest_exit, config.debug_exit_mode),
      host_bridge_(MakeHostBridge()) {}

absl::Status DeviceSet::AddPcDevices(const DeviceSetConfig& config) {
  if (!config.on_reset || !config.on_power_off) {
    return absl::InvalidArgumentError(
        "the PC devices need reset and power-off callbacks");
  }
  rtc_ = std::make_unique<CmosRtc>(config.rtc_clock);
  RETURN_IF_ERROR(port_bus_.Add(pc::kCmosIndexPort, CmosRtc::kPortCount,
                                rtc_.get(), "rtc"));
  i8042_ = std::make_unique<I8042>(config.on_reset, &keyboard_irq_);
  RETURN_IF_ERROR(port_bus_.Add(pc::kI8042DataPort, I8042::kPortCount,
                                i8042_.get(), "i8042"));
  fw_cfg_ = std::make_unique<FwCfg>(config.vcpu_count, config.ram_bytes);
  RETURN_IF_ERROR(port_bus_.Add(pc::kFwCfgSelectorPort, FwCfg::kPortCount,
                                fw_cfg_.get(), "fw_cfg"));
  acpi_pm_ = std::make_unique<AcpiPm>(config.on_power_off, config.on_reset);
  return port_bus_.Add(pc::kAcpiSleepControlPort, AcpiPm::kPortCount,
                       acpi_pm_.get(), "ACPI power registers");
}

absl::StatusOr<std::unique_ptr<DeviceSet>> DeviceSet::Create(
    DeviceSetConfig config) {
  if (!config.on_guest_exit) {
    return absl::InvalidArgumentError("the debug-exit port needs a callback");
  }
  auto devices = std::unique_ptr<DeviceSet>(new DeviceSet(config));
  RETURN_IF_ERROR(devices->port_bus_.Add(abi::kSerialPort,
                                         Serial8250::kRegisterCount,
                                         &devices->serial_, "serial"));
  RETURN_IF_ERROR(devices->port_bus_.Add(abi::kDebugExitPort, DebugExit::kSize,
                                         &devices->debug_exit_, "debug exit"));
  RETURN_IF_ERROR(devices->port_bus_.Add(abi::kPciConfigAddressPort,
                                         PciConfigSpace::kPortCount,
                                         &devices->pci_, "PCI configuration"));
  RETURN_IF_ERROR(devices->pci_.AddDevice(0, &devices->host_bridge_));
  if (config.pc_devices) RETURN_IF_ERROR(devices->AddPcDevices(config));
  if (config.pcimem_bytes > 0) {
    if (config.pcimem_msi != nullptr) {
      devices->pcimem_msi_ = std::make_unique<PciMsiCapability>(
          abi::kPciMemMsiCapability, config.pcimem_msi);
    }
    devices->pcimem_function_ = std::make_unique<PciFunction>(
        MakePciMemFunction(config.pcimem_bytes, devices->pcimem_msi_.get()));
    devices->pcimem_registers_ = std::make_unique<PciMemRegisters>(
        config.pcimem_bytes / abi::kPageBytes, config.pcimem_requests,
        devices->pcimem_msi_.get());
    RETURN_IF_ERROR(devices->pci_.AddDevice(abi::kPciMemDeviceSlot,
                                            devices->pcimem_function_.get()));
    RETURN_IF_ERROR(devices->mmio_bus_.Add(
        abi::kPciMemRegistersBarAddress, abi::kPciMemRegistersBarBytes,
        devices->pcimem_registers_.get(), "PCI memory registers"));
  }
  return devices;
}

}  // namespace faultline::vmm
