// The PCI memory device's page events wired to the fault engine: the
// engine's device-page hooks feed the device (through PciMemFaultBridge),
// and the guest's PREPAREs become the engine's device-page requests. Two
// calls, because the engine exists before the devices do.
//
// Threading: both on the VM builder's thread, before the guest runs.
#ifndef FAULTLINE_VMM_PCIMEM_WIRING_H_
#define FAULTLINE_VMM_PCIMEM_WIRING_H_

#include <cstdint>

#include "vmm/devices/pcimem_fault_bridge.h"
#include "vmm/devices/window_pages.h"
#include "vmm/fault/fault_engine.h"

namespace faultline::vmm {

// Before FaultEngine::Create: window pages of region `region_id` are
// reported to `bridge` (which outlives the engine).
void RouteDevicePages(PciMemFaultBridge* bridge, uint32_t region_id,
                      FaultEngine::Options* options);

// Once the device exists: its PREPAREs go to `engine` for region
// `region_id`; reports go to `device`. Both outlive the bridge's use.
void ConnectDevicePages(PciMemFaultBridge* bridge, FaultEngine* engine,
                        uint32_t region_id, WindowPageEvents* device);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_PCIMEM_WIRING_H_
