#include "vmm/pcimem_wiring.h"

#include <cstdio>

#include "absl/strings/str_format.h"

namespace faultline::vmm {

void RouteDevicePages(PciMemFaultBridge* bridge, uint32_t region_id,
                      FaultEngine::Options* options) {
  options->on_device_page = [bridge, region_id](const DevicePageEvent& event) {
    if (event.region_id != region_id) return;
    switch (event.kind) {
      case DevicePageEvent::Kind::kAvailable:
        bridge->FrameMapped(event.offset);
        return;
      case DevicePageEvent::Kind::kPending:
        bridge->RetryAnswered(event.offset, event.retry_reason);
        return;
      case DevicePageEvent::Kind::kError:
        bridge->ErrorAnswered(event.offset, event.error_kind);
        return;
      case DevicePageEvent::Kind::kGaveUp:
        bridge->GaveUp(event.offset);
        return;
      case DevicePageEvent::Kind::kRevoked:
        bridge->Revoked(event.offset);
        return;
    }
  };
  options->before_revocation = [bridge, region_id](uint32_t region,
                                                   uint64_t offset) {
    if (region == region_id) bridge->LetGo(offset);
  };
}

void ConnectDevicePages(PciMemFaultBridge* bridge, FaultEngine* engine,
                        uint32_t region_id, WindowPageEvents* device) {
  bridge->Connect(device, [engine, region_id](uint64_t offset) {
    absl::Status asked = engine->PrepareDevicePage(region_id, offset);
    if (!asked.ok()) {
      absl::FPrintF(stderr, "vmm: PREPARE of window offset %#x: %s\n", offset,
                    asked.ToString());
    }
    return asked;
  });
}

}  // namespace faultline::vmm
