#include "vmm/loader/linux_loader.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "proto/base/status_macros.h"
#include "vmm/loader/acpi_tables.h"
#include "vmm/loader/boot_params.h"
#include "vmm/loader/e820.h"
#include "vmm/memory/pc_memory_map.h"

namespace faultline::vmm {
namespace {

constexpr uint64_t kPageBytes = 4096;
constexpr uint64_t kMiB = 1ull << 20;

uint64_t PageUp(uint64_t value) {
  return (value + kPageBytes - 1) & ~(kPageBytes - 1);
}

// The end of the RAM region that starts at 0, where Linux's RAM begins.
absl::StatusOr<uint64_t> LowRamEnd(const MemoryLayout& layout) {
  for (const RegionSpec& region : layout.regions()) {
    if (region.kind == RegionKind::kRam && region.guest_physical_base == 0) {
      return region.end();
    }
  }
  return absl::InvalidArgumentError("no RAM region at guest-physical 0");
}

EntryState LinuxEntryState() {
  EntryState state;
  state.mode = CpuMode::kLongMode;
  state.rip = kBzImageLoadAddress + kLinuxStartup64Offset;
  state.rsi = kLinuxBootParamsAddress;
  state.segments = {kLinuxBootCodeSelector, kLinuxBootDataSelector, 0};
  state.gdt_address = kLinuxGdtAddress;
  state.cr0 = kCr0ProtectedMode | kCr0ExtensionType | kCr0Paging;
  state.cr3 = kLinuxPageTableAddress;
  state.cr4 = kCr4Pae;
  state.efer = kEferLongModeEnable | kEferLongModeActive;
  return state;
}

}  // namespace

absl::StatusOr<LinuxPlacement> PlaceLinux(const BzImage& kernel,
                                          uint64_t initrd_bytes,
                                          uint64_t ram_bytes,
                                          const std::string& cmdline) {
  const SetupHeader& header = kernel.header;
  if (cmdline.size() > header.cmdline_size || cmdline.size() >= kPageBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the command line is %u bytes; this kernel takes at most %u",
        cmdline.size(),
        std::min<uint64_t>(header.cmdline_size, kPageBytes - 1)));
  }
  if (cmdline.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("the command line contains a NUL byte");
  }
  LinuxPlacement place;
  place.ram_bytes = ram_bytes;
  place.kernel_end = kBzImageLoadAddress + kernel.kernel_bytes;
  place.decompress_address = DecompressAddress(header);
  place.decompress_end = place.decompress_address + header.init_size;
  const uint64_t kernel_needs =
      std::max(place.kernel_end, place.decompress_end);
  const uint64_t needed_mib =
      (PageUp(kernel_needs) + PageUp(initrd_bytes) + kMiB - 1) / kMiB + 1;
  if (kernel_needs > ram_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the kernel needs RAM up to %#x (it decompresses to [%#x, %#x), "
        "init_size %u MiB) but RAM ends at %#x: give --memory=%uM or more",
        kernel_needs, place.decompress_address, place.decompress_end,
        header.init_size >> 20, ram_bytes, needed_mib));
  }
  if (initrd_bytes > 0) {
    const uint64_t top =
        std::min<uint64_t>(ram_bytes, uint64_t{header.initrd_addr_max} + 1);
    if (initrd_bytes > top) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "the initrd (%u bytes) is larger than RAM below initrd_addr_max",
          initrd_bytes));
    }
    place.initrd_address = (top - initrd_bytes) & ~(kInitrdAlignment - 1);
    if (place.initrd_address < kernel_needs) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "the initrd (%u bytes) does not fit between the kernel (up to %#x) "
          "and the end of RAM at %#x: give --memory=%uM or more",
          initrd_bytes, kernel_needs, top, needed_mib));
    }
    place.initrd_bytes = initrd_bytes;
  }
  return place;
}

absl::StatusOr<LoadedKernel> LoadLinux(const BzImage& kernel,
                                       const KernelModule* initrd,
                                       const LinuxBootConfig& config,
                                       const PageSink& sink) {
  if (config.layout == nullptr) {
    return absl::InvalidArgumentError("LoadLinux needs the memory layout");
  }
  ASSIGN_OR_RETURN(const uint64_t ram_bytes, LowRamEnd(*config.layout));
  const uint64_t initrd_bytes = initrd == nullptr ? 0 : initrd->bytes.size();
  ASSIGN_OR_RETURN(const LinuxPlacement place,
                   PlaceLinux(kernel, initrd_bytes, ram_bytes, config.cmdline));

  // Everything is built and checked first; installing comes last.
  std::map<uint64_t, PageBytes> pages =
      IdentityMapPages(kLinuxPageTableAddress, kLinuxIdentityMapBytes);
  const EntryState entry = LinuxEntryState();
  pages[kLinuxGdtAddress] = BuildGdtPage(CpuMode::kLongMode, entry.segments);
  PageBytes& cmdline = pages[kLinuxCmdlineAddress];
  cmdline.fill(0);
  std::memcpy(cmdline.data(), config.cmdline.data(), config.cmdline.size());
  ASSIGN_OR_RETURN(AcpiTables acpi,
                   BuildAcpiTables({kBiosAreaAddress, config.vcpu_count}));
  pages.merge(acpi.pages);
  BootParamsInputs inputs;
  inputs.cmdline_address = kLinuxCmdlineAddress;
  inputs.initrd_address = place.initrd_address;
  inputs.initrd_bytes = place.initrd_bytes;
  inputs.rsdp_address = acpi.rsdp_address;
  ASSIGN_OR_RETURN(inputs.e820, BuildE820(*config.layout));
  ASSIGN_OR_RETURN(pages[kLinuxBootParamsAddress],
                   BuildBootParams(kernel, inputs));
  for (const auto& [address, unused] : pages) {
    if (address + kPageBytes > ram_bytes || address >= kBzImageLoadAddress) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "boot page %#x lies outside low RAM [0, 1 MiB)", address));
    }
  }

  LoadedKernel loaded;
  loaded.boot_vcpu = entry;
  ASSIGN_OR_RETURN(
      const InstalledSegments image,
      InstallSegments(kernel.bytes,
                      {LoadSegment{kBzImageLoadAddress, kernel.kernel_offset,
                                   kernel.kernel_bytes, kernel.kernel_bytes}},
                      sink));
  loaded.pages_installed += image.pages;
  if (initrd != nullptr && !initrd->bytes.empty()) {
    ASSIGN_OR_RETURN(const InstalledSegments ramdisk,
                     InstallSegments(initrd->bytes,
                                     {LoadSegment{place.initrd_address, 0,
                                                  initrd->bytes.size(),
                                                  initrd->bytes.size()}},
                                     sink));
    loaded.pages_installed += ramdisk.pages;
  }
  ASSIGN_OR_RETURN(const uint64_t boot_pages, InstallPages(pages, sink));
  loaded.pages_installed += boot_pages;
  loaded.description = absl::StrFormat(
      "Linux boot protocol %u.%02u: kernel [%#x, %#x) decompressing to "
      "[%#x, %#x), initrd [%#x, %#x), boot_params %#x, ACPI RSDP %#x, %u "
      "pages installed",
      kernel.header.version >> 8, kernel.header.version & 0xFF,
      kBzImageLoadAddress, place.kernel_end, place.decompress_address,
      place.decompress_end, place.initrd_address,
      place.initrd_address + place.initrd_bytes, kLinuxBootParamsAddress,
      acpi.rsdp_address, loaded.pages_installed);
  return loaded;
}

}  // namespace faultline::vmm
