// Multiboot v1 kernels as QEMU's -kernel boots them: the header found in
// the first 8 KiB (magic 0x1BADB002, flags, checksum); an ELF32 loaded at
// its segments' physical addresses, or with the "a.out kludge" (flag 16)
// the file loaded flat at the header's addresses; entry in 32-bit protected
// mode, paging off, EAX = 0x2BADB002, EBX = a multiboot_info with the
// memory sizes and map, the command line ("KERNEL ARGS", as QEMU passes
// it), the modules (each --initrd file, its string "FILE ARGS" as given)
// and the boot loader's name. Other vCPUs wait for INIT/SIPI. Pure parts
// (header, info) are separate from installing.
#ifndef FAULTLINE_VMM_LOADER_MULTIBOOT_H_
#define FAULTLINE_VMM_LOADER_MULTIBOOT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "vmm/loader/e820.h"
#include "vmm/loader/elf_image.h"
#include "vmm/loader/kernel_image.h"
#include "vmm/loader/loader.h"
#include "vmm/memory/memory_layout.h"

namespace faultline::vmm {

inline constexpr uint32_t kMultibootHeaderMagic = 0x1BADB002;
inline constexpr uint32_t kMultibootBootloaderMagic = 0x2BADB002;
inline constexpr uint64_t kMultibootSearchBytes = 8192;
inline constexpr uint32_t kMultibootPageAlignModules = 1u << 0;
inline constexpr uint32_t kMultibootMemoryInfo = 1u << 1;
inline constexpr uint32_t kMultibootVideoMode = 1u << 2;  // ignored, as QEMU
inline constexpr uint32_t kMultibootAoutKludge = 1u << 16;

// multiboot_info flags the VMM fills in.
inline constexpr uint32_t kInfoMemory = 1u << 0;
inline constexpr uint32_t kInfoBootDevice = 1u << 1;
inline constexpr uint32_t kInfoCmdline = 1u << 2;
inline constexpr uint32_t kInfoModules = 1u << 3;
inline constexpr uint32_t kInfoMemoryMap = 1u << 6;
inline constexpr uint32_t kInfoBootLoaderName = 1u << 9;

// Guest-physical places: the GDT (CS 0x10, DS 0x18 as QEMU's loader), and
// the multiboot_info with everything it points to.
inline constexpr uint64_t kMultibootGdtAddress = 0x1000;
inline constexpr uint64_t kMultibootInfoAddress = 0x10000;
inline constexpr uint64_t kMultibootInfoBytes = 0x10000;

struct MultibootHeader {
  uint64_t offset = 0;  // in the file, 4-byte aligned
  uint32_t flags = 0;
  uint32_t header_addr = 0;
  uint32_t load_addr = 0;
  uint32_t load_end_addr = 0;
  uint32_t bss_end_addr = 0;
  uint32_t entry_addr = 0;
};

// The header, nullopt when there is none, an error when it is broken.
absl::StatusOr<std::optional<MultibootHeader>> FindMultibootHeader(
    const std::string& bytes);

struct MultibootKernel {
  MultibootHeader header;
  std::string bytes;
  std::vector<LoadSegment> segments;
  uint64_t entry = 0;
};
absl::StatusOr<MultibootKernel> ParseMultibootKernel(std::string bytes);

struct MultibootModuleInfo {
  uint32_t start = 0;
  uint32_t end = 0;
  std::string string;
};
struct MultibootInfoInputs {
  std::vector<E820Entry> memory_map;
  std::string cmdline;
  std::vector<MultibootModuleInfo> modules;
};
// multiboot_info and what it points to, as bytes to place at `address`.
absl::StatusOr<std::string> BuildMultibootInfo(const MultibootInfoInputs& in,
                                               uint64_t address);

struct MultibootBootConfig {
  const MemoryLayout* layout = nullptr;
  std::string kernel_name;  // the --kernel path, first word of the cmdline
  std::string cmdline;
};
absl::StatusOr<LoadedKernel> LoadMultiboot(
    const MultibootKernel& kernel, const std::vector<KernelModule>& modules,
    const MultibootBootConfig& config, const PageSink& sink);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_LOADER_MULTIBOOT_H_
