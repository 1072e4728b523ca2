// Linux's boot_params (the "zero page") as the boot protocol says a 64-bit
// boot loader fills it: the bzImage's own setup header copied in, then the
// loader's fields (type_of_loader, CAN_USE_HEAP and heap_end_ptr, the
// command line pointer, the initrd's place and size, the ACPI RSDP) and the
// e820 map. Pure.
#ifndef FAULTLINE_VMM_LOADER_BOOT_PARAMS_H_
#define FAULTLINE_VMM_LOADER_BOOT_PARAMS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "vmm/loader/bzimage.h"
#include "vmm/loader/e820.h"
#include "vmm/loader/entry_state.h"

namespace faultline::vmm {

// boot_params offsets the loader writes
// (arch/x86/include/uapi/asm/bootparam.h).
inline constexpr size_t kBootParamsAcpiRsdp = 0x070;
inline constexpr size_t kBootParamsExtRamdiskImage = 0x0C0;
inline constexpr size_t kBootParamsExtRamdiskSize = 0x0C4;
inline constexpr size_t kBootParamsExtCmdLinePtr = 0x0C8;
inline constexpr size_t kBootParamsE820Entries = 0x1E8;
inline constexpr size_t kBootParamsTypeOfLoader = 0x210;
inline constexpr size_t kBootParamsLoadflags = 0x211;
inline constexpr size_t kBootParamsRamdiskImage = 0x218;
inline constexpr size_t kBootParamsRamdiskSize = 0x21C;
inline constexpr size_t kBootParamsHeapEndPtr = 0x224;
inline constexpr size_t kBootParamsCmdLinePtr = 0x228;
inline constexpr size_t kBootParamsE820Table = 0x2D0;
inline constexpr uint8_t kTypeOfLoaderUndefined = 0xFF;
inline constexpr uint16_t kHeapEnd = 0xFE00;

struct BootParamsInputs {
  uint64_t cmdline_address = 0;
  uint64_t initrd_address = 0;  // 0 with initrd_bytes 0: no initrd
  uint64_t initrd_bytes = 0;
  uint64_t rsdp_address = 0;
  std::vector<E820Entry> e820;
};

absl::StatusOr<PageBytes> BuildBootParams(const BzImage& image,
                                          const BootParamsInputs& inputs);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_LOADER_BOOT_PARAMS_H_
