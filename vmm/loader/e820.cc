#include "vmm/loader/e820.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace faultline::vmm {

absl::StatusOr<std::vector<E820Entry>> BuildE820(
    const MemoryLayout& layout, absl::Span<const ReservedRange> reserved) {
  std::vector<E820Entry> entries;
  for (const ReservedRange& range : reserved) {
    if (range.size == 0 || range.base + range.size < range.base) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "reserved range at %#x of %#x bytes is empty or wraps", range.base,
          range.size));
    }
    entries.push_back({range.base, range.size, E820Type::kReserved});
  }
  for (const RegionSpec& region : layout.regions()) {
    if (region.kind != RegionKind::kRam) continue;
    // RAM between the reserved ranges that cut into it.
    uint64_t from = region.guest_physical_base;
    std::vector<ReservedRange> cuts(reserved.begin(), reserved.end());
    std::sort(cuts.begin(), cuts.end(),
              [](const ReservedRange& a, const ReservedRange& b) {
                return a.base < b.base;
              });
    for (const ReservedRange& cut : cuts) {
      const uint64_t cut_end = cut.base + cut.size;
      if (cut_end <= from || cut.base >= region.end()) continue;
      if (cut.base > from) entries.push_back({from, cut.base - from});
      from = std::max(from, cut_end);
    }
    if (from < region.end()) entries.push_back({from, region.end() - from});
  }
  std::sort(entries.begin(), entries.end(),
            [](const E820Entry& a, const E820Entry& b) {
              return a.address < b.address;
            });
  std::vector<E820Entry> merged;
  for (const E820Entry& entry : entries) {
    if (!merged.empty() && merged.back().end() > entry.address) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "e820: [%#x, %#x) overlaps [%#x, %#x)", merged.back().address,
          merged.back().end(), entry.address, entry.end()));
    }
    if (!merged.empty() && merged.back().end() == entry.address &&
        merged.back().type == entry.type) {
      merged.back().size += entry.size;
    } else {
      merged.push_back(entry);
    }
  }
  if (merged.size() > kMaxE820Entries) {
    return absl::InvalidArgumentError(
        absl::StrFormat("e820: %u entries, at most %u fit in boot_params",
                        merged.size(), kMaxE820Entries));
  }
  return merged;
}

}  // namespace faultline::vmm
