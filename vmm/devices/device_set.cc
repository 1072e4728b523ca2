#include "vmm/devices/device_set.h"

#include <utility>

#include "proto/base/status_macros.h"
#include "proto/guest_abi.h"

namespace faultline::vmm {

namespace abi = ::faultline::guest_abi;

DeviceSet::DeviceSet(const DeviceSetConfig& config)
    : serial_(config.serial_fd),
      debug_exit_(config.on_guest_exit),
      host_bridge_(MakeHostBridge()) {}

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
