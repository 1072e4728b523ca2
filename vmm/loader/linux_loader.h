// The Linux x86 boot protocol's 64-bit entry, end to end: checks that the
// bzImage, its decompression area, the initrd and the command line fit the
// guest (every check before anything is installed), then installs the
// protected-mode kernel at 1 MiB, the initrd at the top of RAM below
// initrd_addr_max, boot_params, the command line, a GDT with __BOOT_CS 0x10
// and __BOOT_DS 0x18, page tables identity-mapping 4 GiB, and the ACPI
// tables; vCPU 0 enters startup_64 (load address + 0x200) with RSI =
// boot_params. Every other RAM page is left to fault.
#ifndef FAULTLINE_VMM_LOADER_LINUX_LOADER_H_
#define FAULTLINE_VMM_LOADER_LINUX_LOADER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "vmm/loader/bzimage.h"
#include "vmm/loader/kernel_image.h"
#include "vmm/loader/loader.h"
#include "vmm/memory/memory_layout.h"

namespace faultline::vmm {

// Guest-physical places of a Linux boot (below 1 MiB, under the e820's
// first RAM entry; the ACPI tables go to the BIOS area).
inline constexpr uint64_t kLinuxGdtAddress = 0x1000;
inline constexpr uint64_t kLinuxBootParamsAddress = 0x7000;
inline constexpr uint64_t kLinuxPageTableAddress = 0x9000;
inline constexpr uint64_t kLinuxIdentityMapBytes = 4ull << 30;
inline constexpr uint64_t kLinuxCmdlineAddress = 0x20000;
inline constexpr uint64_t kLinuxStartup64Offset = 0x200;
inline constexpr uint64_t kInitrdAlignment = 1ull << 20;
inline constexpr uint16_t kLinuxBootCodeSelector = 0x10;  // __BOOT_CS
inline constexpr uint16_t kLinuxBootDataSelector = 0x18;  // __BOOT_DS

struct LinuxBootConfig {
  const MemoryLayout* layout = nullptr;  // RAM for the size and the e820
  uint32_t vcpu_count = 1;
  std::string cmdline;
};

// Where the pieces go, or why they do not fit. Pure.
struct LinuxPlacement {
  uint64_t ram_bytes = 0;
  uint64_t kernel_end = 0;  // of the loaded image at 1 MiB
  uint64_t decompress_address = 0;
  uint64_t decompress_end = 0;  // decompress_address + init_size
  uint64_t initrd_address = 0;
  uint64_t initrd_bytes = 0;
};
absl::StatusOr<LinuxPlacement> PlaceLinux(const BzImage& kernel,
                                          uint64_t initrd_bytes,
                                          uint64_t ram_bytes,
                                          const std::string& cmdline);

absl::StatusOr<LoadedKernel> LoadLinux(const BzImage& kernel,
                                       const KernelModule* initrd,
                                       const LinuxBootConfig& config,
                                       const PageSink& sink);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_LOADER_LINUX_LOADER_H_
