// What became of a device-window page, for a device model that tells the
// guest (vmm/devices/pcimem_fault_bridge.h is the user), and what the fault
// engine needs of that model.
#ifndef FAULTLINE_VMM_FAULT_DEVICE_PAGE_EVENT_H_
#define FAULTLINE_VMM_FAULT_DEVICE_PAGE_EVENT_H_

#include <cstdint>

#include "proto/faultline/v1/broker.pb.h"

namespace faultline::vmm {

struct DevicePageEvent {
  enum class Kind {
    kAvailable,  // a frame was mapped at the page
    kPending,    // the broker answered retry: no frame yet, asking again
    kError,      // the broker answered error
    kGaveUp,     // a page asked with no vCPU waiting ran out of its fault
                 // deadline or retry budget (the VM goes on)
    kRevoked,    // its frame was revoked: the page is unmapped
  };
  uint32_t region_id = 0;
  uint64_t offset = 0;
  Kind kind = Kind::kAvailable;
  uint64_t frame = 0;                                           // kAvailable
  v1::RetryReason retry_reason = v1::RETRY_REASON_UNSPECIFIED;  // kPending
  v1::ErrorKind error_kind = v1::ERROR_KIND_UNSPECIFIED;        // kError
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_DEVICE_PAGE_EVENT_H_
