// The fault engine's side of a device model's page requests: device pages a
// guest driver asks for with no vCPU waiting (its PREPARE), and how such a
// page gives up at its deadline. Split from fault_engine.cc, which turns
// userfaultfd events into requests.
#include <cstdio>

#include "absl/strings/str_format.h"
#include "proto/faultline/v1/wire.h"
#include "vmm/fault/fault_engine.h"

namespace faultline::vmm {

absl::Status FaultEngine::PrepareDevicePage(uint32_t region_id,
                                            uint64_t offset) {
  const MappedRegion* region = memory_->FindRegion(region_id);
  if (region == nullptr || region->spec.kind != RegionKind::kDeviceWindow ||
      offset % v1::wire::kPageBytes != 0 || offset >= region->spec.size_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "region %u offset %#x is not a device page", region_id, offset));
  }
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) {
      return absl::FailedPreconditionError("the fault engine is stopping");
    }
  }
  if (stop_.stopped()) {
    return absl::FailedPreconditionError("the VM is stopping");
  }
  NewFault asked;
  asked.region_id = region_id;
  asked.region_name = region->spec.name;
  asked.offset = offset;
  asked.host_page = reinterpret_cast<uint64_t>(region->host_base()) + offset;
  asked.guest_physical = region->spec.guest_physical_base + offset;
  asked.access = v1::ACCESS_KIND_WRITE;  // the driver maps it writable
  asked.vcpu_waiting = false;
  // In flight already (a vCPU's fault or an earlier PREPARE): its answer
  // reaches the device model too.
  const std::optional<uint64_t> id = table_.Add(asked);
  if (!id.has_value()) return absl::OkStatus();
  stats_.Count(FaultStats::Counter::kFaults);
  SendFault(*id);
  return absl::OkStatus();
}

void FaultEngine::GiveUpUnwatched(const PendingFault& fault) {
  if (!table_.Resolve(fault.id).has_value()) return;  // answered meanwhile
  absl::FPrintF(stderr,
                "vmm: fault deadline of %s exceeded for %s (asked by the "
                "device, no vCPU waits): the page is an error; last reason: "
                "%s\n",
                absl::FormatDuration(options_.retry.deadline),
                DescribePage(fault), fault.last_reason);
  if (!options_.on_device_page) return;
  DevicePageEvent event;
  event.region_id = fault.page.region_id;
  event.offset = fault.page.offset;
  event.kind = DevicePageEvent::Kind::kGaveUp;
  options_.on_device_page(event);
}

}  // namespace faultline::vmm
