// The order background fill (background_fill.h) brings pages in: first a
// recorded working set's pages in their recorded order, then, when address
// order is on, every page of each RAM region from its start. Pages already
// resident are skipped; address-consecutive pages next to each other in the
// order go together as one run (one ask: a page and its prefetch). Pure:
// residency comes from the caller.
//
// Threading: none; one owner.
#ifndef FAULTLINE_VMM_FAULT_FILL_PLAN_H_
#define FAULTLINE_VMM_FAULT_FILL_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include "vmm/fault/working_set.h"

namespace faultline::vmm {

struct FillRun {
  uint32_t region_id = 0;
  uint64_t offset = 0;  // first page
  uint32_t pages = 0;   // >= 1

  bool operator==(const FillRun& other) const {
    return region_id == other.region_id && offset == other.offset &&
           pages == other.pages;
  }
};

struct FillRegion {
  uint32_t region_id = 0;
  uint64_t size_bytes = 0;
};

class FillPlan {
 public:
  // Whether the page at `offset` of region `region_id` is resident.
  using Resident = std::function<bool(uint32_t region_id, uint64_t offset)>;

  FillPlan(std::vector<WorkingSetPage> recorded,
           std::vector<FillRegion> address_order);

  // The next run of at most `max_pages` pages not resident, or nullopt when
  // the plan is done.
  std::optional<FillRun> Next(const Resident& resident, uint32_t max_pages);
  // A run handed out but not installed (the broker said retry, the stream
  // broke): it comes next again.
  void PutBack(const FillRun& run);
  // Whether recorded pages are still to come.
  bool replaying() const { return next_recorded_ < recorded_.size(); }

 private:
  std::optional<WorkingSetPage> PeekPage();
  void Advance();

  std::deque<FillRun> put_back_;
  std::vector<WorkingSetPage> recorded_;
  size_t next_recorded_ = 0;
  std::vector<FillRegion> regions_;
  size_t next_region_ = 0;
  uint64_t next_offset_ = 0;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_FILL_PLAN_H_
