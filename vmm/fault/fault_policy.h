// Pure decisions of the fault engine, testable without any fd or broker:
// whether an answer may be applied to the fault it claims to answer (the
// same checks for stream faults and for --preload_ram), whether a revocation
// names a device page, what to do with each answer kind, and when (or
// whether) to ask again.
//
// Threading: stateless functions; safe from any thread.
#ifndef FAULTLINE_VMM_FAULT_FAULT_POLICY_H_
#define FAULTLINE_VMM_FAULT_FAULT_POLICY_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.pb.h"
#include "vmm/transport/staging_slots.h"

namespace faultline::vmm {

// What the engine knows about the region a fault is in.
struct RegionRules {
  uint32_t region_id = 0;
  bool device = false;       // REGION_KIND_DEVICE_MEMORY: frames only
  uint64_t size_bytes = 0;   // region size
  uint64_t frame_count = 0;  // device regions: frames in the device file
};

// The fault an answer claims to answer.
struct AskedFault {
  uint64_t fault_id = 0;
  uint32_t region_id = 0;
  uint64_t offset = 0;
};

enum class AnswerAction {
  kInstallPage,
  kInstallZero,
  kMapFrame,
  kRetry,
  kFail
};

// Checks an answer against the fault and region before anything is applied:
// echoed ids, a set oneof that fits the region kind, exact page sizes,
// frames inside the device, extra pages inside the region and page-aligned,
// and (asking `slots`, their owner) staging slots inside the session's area.
// Returns the action on success, InvalidArgument naming the defect
// otherwise.
absl::StatusOr<AnswerAction> ValidateAnswer(const v1::FaultAnswer& answer,
                                            const AskedFault& asked,
                                            const RegionRules& region,
                                            const StagingSlots& slots);

// OK when `revocation` names a page of device region `region`;
// InvalidArgument naming the defect otherwise.
absl::Status ValidateRevocation(const v1::FrameRevocation& revocation,
                                const RegionRules* region);

struct RetryOptions {
  uint32_t budget = 64;  // re-asks per fault (retry answers and rejections)
  absl::Duration deadline = absl::Seconds(30);  // from the first ask
  absl::Duration initial_backoff = absl::Microseconds(200);
  absl::Duration max_backoff = absl::Milliseconds(200);
};

struct RetryPlan {
  bool give_up = false;
  absl::Time ask_at;  // when not giving up
  std::string why;    // when giving up: for the stop message
};

// When to ask again after the `retries_so_far`-th retry (counting from 0):
// at least the broker's hint, at least an exponential backoff, never past
// the budget or the deadline.
RetryPlan PlanRetry(const RetryOptions& options, uint32_t retries_so_far,
                    absl::Duration hint, absl::Time first_asked,
                    absl::Time now);

bool PastDeadline(const RetryOptions& options, absl::Time first_asked,
                  absl::Time now);

// The reason and kind as the VMM counts and names them (v1::EnumWord:
// "over_quota", "bus_error"): unknown reasons read as busy, unknown kinds as
// bus error (the proto's rules).
v1::RetryReason KnownRetryReason(v1::RetryReason reason);
v1::ErrorKind KnownErrorKind(v1::ErrorKind kind);
// The reason and the broker's detail, for messages:
// "busy (page being written)".
std::string DescribeRetry(const v1::RetryAnswer& retry);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_FAULT_POLICY_H_
