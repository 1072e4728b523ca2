// The fault engine's side of a device model's page events: pages a guest
// driver asks for with no vCPU waiting (its PREPARE), and what the device
// model hears about device-window pages. Split from fault_engine.cc, which
// turns userfaultfd events into requests.
#include <cstdio>

#include "absl/strings/str_format.h"
#include "vmm/fault/fault_engine.h"

namespace faultline::vmm {

absl::Status FaultEngine::PrepareDevicePage(uint32_t region_id,
                                            uint64_t offset) {
  auto region = regions_.find(region_id);
  if (region == regions_.end() || !region->second.rules.device ||
      offset % kFaultPageBytes != 0 ||
      offset >= region->second.rules.size_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "region %u offset %#x is not a device page", region_id, offset));
  }
  const uint64_t host_page =
      reinterpret_cast<uint64_t>(region->second.mapped->host_base()) + offset;
  uint64_t id;
  {
    absl::MutexLock lock(&mutex_);
    if (failed_ || stopping_) {
      return absl::FailedPreconditionError("the fault engine is stopping");
    }
    // Asked already (a vCPU fault or an earlier PREPARE): its answer will
    // reach the device.
    if (fault_by_page_.contains(host_page)) return absl::OkStatus();
    id = next_fault_id_++;
    PendingFault& pending = in_flight_[id];
    pending.id = id;
    pending.region_id = region_id;
    pending.offset = offset;
    pending.host_page = host_page;
    pending.access = v1::ACCESS_KIND_WRITE;  // a driver maps it writable
    pending.vcpu = 0xFFFFFFFF;
    pending.first_asked = absl::Now();
    pending.vcpu_waiting = false;
    fault_by_page_[host_page] = id;
  }
  stats_.Count(FaultStats::Counter::kFaults);
  SendFault(id);
  return absl::OkStatus();
}

void FaultEngine::TellDevice(const PendingFault& fault, DevicePageEvent event) {
  if (!options_.on_device_page) return;
  event.region_id = fault.region_id;
  event.offset = fault.offset;
  options_.on_device_page(event);
}

void FaultEngine::GiveUpUnwatched(uint64_t fault_id, const std::string& why) {
  PendingFault fault;
  {
    absl::MutexLock lock(&mutex_);
    auto it = in_flight_.find(fault_id);
    if (it == in_flight_.end()) return;
    fault = it->second;
    fault_by_page_.erase(fault.host_page);
    in_flight_.erase(it);
  }
  std::fprintf(stderr,
               "vmm: %s for %s (asked by the device, no vCPU waits): "
               "the page is an error; last reason: %s\n",
               why.c_str(), DescribePage(fault).c_str(),
               fault.last_reason.c_str());
  DevicePageEvent event;
  event.kind = DevicePageEvent::Kind::kGaveUp;
  TellDevice(fault, event);
}

}  // namespace faultline::vmm
