// The regions of guest memory as protocol v1 attaches them, derived from
// the one description of guest memory (its MemoryLayout) and what backs
// each region, so that the layout and the attached regions cannot differ.
//
// Threading: a pure function.
#ifndef FAULTLINE_VMM_FAULT_ATTACHED_REGIONS_H_
#define FAULTLINE_VMM_FAULT_ATTACHED_REGIONS_H_

#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/faultline/v1/broker.pb.h"
#include "vmm/memory/guest_memory.h"

namespace faultline::vmm {

// What backs each region of guest memory, by region id.
using RegionSources = std::map<uint32_t, v1::Source>;

// The regions of `memory` as protocol v1 attaches them: ids, names, kinds,
// bases and sizes from the memory's layout, sources from `sources` (one per
// region, no more).
absl::StatusOr<std::vector<v1::Region>> AttachedRegions(
    const GuestMemory& memory, const RegionSources& sources);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_ATTACHED_REGIONS_H_
