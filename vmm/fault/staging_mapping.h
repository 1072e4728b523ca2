// The VMM's read-only view of a broker's staging area (protocol v1
// StagingArea): the broker writes a page into a slot and answers with the
// slot's number; the engine copies the page into the guest straight from the
// slot, then the transport hands the slot back.
//
// Threading: immutable after Open(); Slot() may be called from any thread.
#ifndef FAULTLINE_VMM_FAULT_STAGING_MAPPING_H_
#define FAULTLINE_VMM_FAULT_STAGING_MAPPING_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::vmm {

class StagingMapping {
 public:
  // Maps `area` read-only. INVALID_ARGUMENT for a slot size other than one
  // page, no slots, or a file shorter than its slots; the errno's status
  // naming the path when it cannot be opened or mapped.
  static absl::StatusOr<std::unique_ptr<StagingMapping>> Open(
      const v1::StagingArea& area);
  ~StagingMapping();

  StagingMapping(const StagingMapping&) = delete;
  StagingMapping& operator=(const StagingMapping&) = delete;

  uint32_t slot_count() const { return slot_count_; }
  const std::string& path() const { return path_; }
  // The page in `slot`, or nullptr for a slot outside the area.
  const uint8_t* Slot(uint32_t slot) const;

 private:
  StagingMapping(std::string path, uint32_t slot_count, const uint8_t* base)
      : path_(std::move(path)), slot_count_(slot_count), base_(base) {}

  const std::string path_;
  const uint32_t slot_count_;
  const uint8_t* const base_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_STAGING_MAPPING_H_
