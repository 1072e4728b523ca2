// Installs a payload and its boot state into guest RAM page by page through a
// sink (the fault engine's LoadPage: UFFDIO_COPY / ZEROPAGE, counted as
// loaded, not as faults). Every other RAM page is left to fault.
#ifndef FAULTLINE_VMM_LOADER_LOADER_H_
#define FAULTLINE_VMM_LOADER_LOADER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "vmm/loader/elf_image.h"

namespace faultline::vmm {

// Installs one page at `guest_physical`; `page` is 4096 bytes or nullptr
// for a zero page.
using PageSink =
    std::function<absl::Status(uint64_t guest_physical, const uint8_t* page)>;

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
