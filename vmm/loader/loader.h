// Installs a payload and its boot state into guest RAM page by page through a
// sink (the fault engine's LoadPage: UFFDIO_COPY / ZEROPAGE, counted as
// loaded, not as faults). Every other RAM page is left to fault.
#ifndef FAULTLINE_VMM_LOADER_LOADER_H_
#define FAULTLINE_VMM_LOADER_LOADER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "vmm/loader/elf_image.h"
#include "vmm/loader/entry_state.h"

namespace faultline::vmm {

// Installs one page at `guest_physical`; `page` is 4096 bytes or nullptr
// for a zero page.
using PageSink =
    std::function<absl::Status(uint64_t guest_physical, const uint8_t* page)>;

// What InstallSegments put into RAM.
struct InstalledSegments {
  uint64_t image_end = 0;  // page-aligned end of the highest segment
  uint64_t pages = 0;
};

// Installs `segments` of `file` page by page, the part past each segment's
// file bytes zeroed; segments may share pages. Pages with no file byte go
// in as zero pages.
absl::StatusOr<InstalledSegments> InstallSegments(
    absl::string_view file, const std::vector<LoadSegment>& segments,
    const PageSink& sink);

// Installs whole pages; returns how many.
absl::StatusOr<uint64_t> InstallPages(
    const std::map<uint64_t, PageBytes>& pages, const PageSink& sink);

struct LoadedPayload {
  uint64_t entry = 0;
  uint64_t image_end = 0;  // page-aligned
  uint64_t pages_installed = 0;
};

// Checks `image` against the guest, then installs its segments (with .bss
// zeroed) and the boot pages of guest_abi.h.
absl::StatusOr<LoadedPayload> LoadPayload(const ElfImage& image,
                                          uint64_t ram_bytes,
                                          uint32_t vcpu_count,
                                          const std::string& args,
                                          const PageSink& sink);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_LOADER_LOADER_H_
