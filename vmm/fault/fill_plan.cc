#include "vmm/fault/fill_plan.h"

#include <utility>

namespace faultline::vmm {
namespace {
constexpr uint64_t kPageBytes = 4096;
}  // namespace

FillPlan::FillPlan(std::vector<WorkingSetPage> recorded,
                   std::vector<FillRegion> address_order)
    : recorded_(std::move(recorded)), regions_(std::move(address_order)) {}

std::optional<WorkingSetPage> FillPlan::PeekPage() {
  if (next_recorded_ < recorded_.size()) return recorded_[next_recorded_];
  while (next_region_ < regions_.size() &&
         next_offset_ >= regions_[next_region_].size_bytes) {
    ++next_region_;
    next_offset_ = 0;
  }
  if (next_region_ == regions_.size()) return std::nullopt;
  return WorkingSetPage{regions_[next_region_].region_id, next_offset_};
}

void FillPlan::Advance() {
  if (next_recorded_ < recorded_.size()) {
    ++next_recorded_;
  } else {
    next_offset_ += kPageBytes;
  }
}

std::optional<FillRun> FillPlan::Next(const Resident& resident,
                                      uint32_t max_pages) {
  if (max_pages == 0) return std::nullopt;
  if (!put_back_.empty()) {
    FillRun run = put_back_.front();
    put_back_.pop_front();
    return run;
  }
  std::optional<FillRun> run;
  while (std::optional<WorkingSetPage> page = PeekPage()) {
    const bool there = resident(page->region_id, page->offset);
    if (run.has_value()) {
      // The run ends at a resident page, a gap, another region or its size.
      const bool continues =
          !there && page->region_id == run->region_id &&
          page->offset == run->offset + uint64_t{run->pages} * kPageBytes &&
          run->pages < max_pages;
      if (!continues) break;
      ++run->pages;
    } else if (!there) {
      run = FillRun{page->region_id, page->offset, 1};
    }
    Advance();
  }
  return run;
}

void FillPlan::PutBack(const FillRun& run) { put_back_.push_front(run); }

}  // namespace faultline::vmm
