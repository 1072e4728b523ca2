#include "vmm/loader/multiboot.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/base/status_macros.h"

namespace faultline::vmm {
namespace {

constexpr uint64_t kPageBytes = 4096;
constexpr uint64_t kMiB = 1ull << 20;
constexpr uint32_t kKnownRequiredFlags =
    kMultibootPageAlignModules | kMultibootMemoryInfo | kMultibootVideoMode;
constexpr size_t kInfoStructBytes = 88;
constexpr size_t kMmapEntryBytes = 24;
constexpr size_t kModuleEntryBytes = 16;
constexpr uint32_t kBootDeviceNone = 0x8000FFFF;  // what QEMU passes
constexpr char kBootLoaderName[] = "faultline";

uint32_t Get32(const std::string& bytes, size_t offset) {
  uint32_t value;
  std::memcpy(&value, bytes.data() + offset, sizeof(value));
  return value;
}

void Put32(std::string& bytes, size_t offset, uint32_t value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(value));
}

void Put64(std::string& bytes, size_t offset, uint64_t value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(value));
}

uint64_t PageUp(uint64_t value) {
  return (value + kPageBytes - 1) & ~(kPageBytes - 1);
}

// The flat image of the a.out kludge: the file from the header's load
// address on, .bss after it.
absl::StatusOr<LoadSegment> AoutSegment(const MultibootHeader& header,
                                        uint64_t file_bytes) {
  if (header.load_addr > header.header_addr ||
      header.header_addr - header.load_addr > header.offset) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "multiboot a.out kludge: load_addr %#x is past header_addr %#x or "
        "before the file's start",
        header.load_addr, header.header_addr));
  }
  LoadSegment segment;
  segment.physical_address = header.load_addr;
  segment.file_offset = header.offset - (header.header_addr - header.load_addr);
  const uint64_t load_end =
      header.load_end_addr == 0
          ? header.load_addr + file_bytes - segment.file_offset
          : header.load_end_addr;
  if (load_end < header.load_addr ||
      load_end - header.load_addr > file_bytes - segment.file_offset) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "multiboot a.out kludge: [%#x, %#x) is not inside the file",
        header.load_addr, load_end));
  }
  segment.file_bytes = load_end - header.load_addr;
  const uint64_t bss_end =
      header.bss_end_addr == 0 ? load_end : header.bss_end_addr;
  if (bss_end < load_end) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "multiboot a.out kludge: bss_end_addr %#x is below load_end %#x",
        bss_end, load_end));
  }
  segment.memory_bytes = bss_end - header.load_addr;
  return segment;
}

}  // namespace

absl::StatusOr<std::optional<MultibootHeader>> FindMultibootHeader(
    const std::string& bytes) {
  const uint64_t limit =
      std::min<uint64_t>(bytes.size(), kMultibootSearchBytes);
  for (uint64_t offset = 0; offset + 12 <= limit; offset += 4) {
    if (Get32(bytes, offset) != kMultibootHeaderMagic) continue;
    MultibootHeader header;
    header.offset = offset;
    header.flags = Get32(bytes, offset + 4);
    if (static_cast<uint32_t>(kMultibootHeaderMagic + header.flags +
                              Get32(bytes, offset + 8)) != 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "the multiboot header at offset %#x has a bad checksum", offset));
    }
    if ((header.flags & 0xFFFF & ~kKnownRequiredFlags) != 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "the multiboot header asks for features the VMM does not offer "
          "(required flags %#x)",
          header.flags & 0xFFFF));
    }
    if ((header.flags & kMultibootAoutKludge) != 0) {
      if (offset + 32 > bytes.size()) {
        return absl::InvalidArgumentError(
            "the multiboot header's address fields lie past the file");
      }
      header.header_addr = Get32(bytes, offset + 12);
      header.load_addr = Get32(bytes, offset + 16);
      header.load_end_addr = Get32(bytes, offset + 20);
      header.bss_end_addr = Get32(bytes, offset + 24);
      header.entry_addr = Get32(bytes, offset + 28);
    }
    return header;
  }
  return std::nullopt;
}

absl::StatusOr<MultibootKernel> ParseMultibootKernel(std::string bytes) {
  ASSIGN_OR_RETURN(std::optional<MultibootHeader> header,
                   FindMultibootHeader(bytes));
  if (!header.has_value()) {
    return absl::InvalidArgumentError(
        "no multiboot header (magic 0x1BADB002) in the first 8 KiB");
  }
  MultibootKernel kernel;
  kernel.header = *header;
  if ((header->flags & kMultibootAoutKludge) != 0) {
    ASSIGN_OR_RETURN(LoadSegment segment, AoutSegment(*header, bytes.size()));
    kernel.segments.push_back(segment);
    kernel.entry = header->entry_addr;
  } else {
    absl::StatusOr<ElfImage> elf = ParseElf32(bytes);
    if (!elf.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "multiboot kernel without the a.out kludge must be an ELF32 (as "
          "for QEMU): ",
          elf.status().message()));
    }
    kernel.segments = elf->segments;
    kernel.entry = elf->entry;
  }
  kernel.bytes = std::move(bytes);
  return kernel;
}

absl::StatusOr<std::string> BuildMultibootInfo(const MultibootInfoInputs& in,
                                               uint64_t address) {
  const size_t mmap_offset = kInfoStructBytes;
  const size_t modules_offset =
      mmap_offset + in.memory_map.size() * kMmapEntryBytes;
  size_t strings_offset =
      modules_offset + in.modules.size() * kModuleEntryBytes;
  std::string info(strings_offset, '\0');
  auto add_string = [&](const std::string& text) {
    const uint64_t at = address + info.size();
    info += text;
    info.push_back('\0');
    return static_cast<uint32_t>(at);
  };
  uint64_t upper_bytes = 0;
  for (size_t i = 0; i < in.memory_map.size(); ++i) {
    const E820Entry& entry = in.memory_map[i];
    const size_t at = mmap_offset + i * kMmapEntryBytes;
    Put32(info, at, kMmapEntryBytes - 4);  // size, not counting itself
    Put64(info, at + 4, entry.address);
    Put64(info, at + 12, entry.size);
    Put32(info, at + 20, static_cast<uint32_t>(entry.type));
    if (entry.type == E820Type::kRam && entry.address == kMiB) {
      upper_bytes = entry.size;
    }
  }
  for (size_t i = 0; i < in.modules.size(); ++i) {
    const size_t at = modules_offset + i * kModuleEntryBytes;
    Put32(info, at, in.modules[i].start);
    Put32(info, at + 4, in.modules[i].end);
    Put32(info, at + 8, add_string(in.modules[i].string));
  }
  Put32(info, 0,
        kInfoMemory | kInfoBootDevice | kInfoCmdline | kInfoModules |
            kInfoMemoryMap | kInfoBootLoaderName);
  Put32(info, 4, 640);  // mem_lower, KiB below 640 KiB
  Put32(info, 8,
        static_cast<uint32_t>(std::min<uint64_t>(
            upper_bytes / 1024, 0xFFFFFFFFu)));  // mem_upper, KiB
  Put32(info, 12, kBootDeviceNone);
  Put32(info, 16, add_string(in.cmdline));
  Put32(info, 20, static_cast<uint32_t>(in.modules.size()));
  Put32(info, 24, static_cast<uint32_t>(address + modules_offset));
  Put32(info, 44,
        static_cast<uint32_t>(in.memory_map.size() * kMmapEntryBytes));
  Put32(info, 48, static_cast<uint32_t>(address + mmap_offset));
  Put32(info, 64, add_string(kBootLoaderName));
  if (address + info.size() > (1ull << 32)) {
    return absl::InvalidArgumentError("multiboot_info must lie below 4 GiB");
  }
  return info;
}

absl::StatusOr<LoadedKernel> LoadMultiboot(
    const MultibootKernel& kernel, const std::vector<KernelModule>& modules,
    const MultibootBootConfig& config, const PageSink& sink) {
  if (config.layout == nullptr) {
    return absl::InvalidArgumentError("LoadMultiboot needs the memory layout");
  }
  ASSIGN_OR_RETURN(const std::vector<E820Entry> map, BuildE820(*config.layout));
  // The kernel's segments: inside one RAM entry each, clear of the boot area.
  uint64_t image_end = kMiB;
  for (const LoadSegment& segment : kernel.segments) {
    const uint64_t end = segment.physical_address + segment.memory_bytes;
    const bool in_ram =
        std::any_of(map.begin(), map.end(), [&](const E820Entry& e) {
          return e.type == E820Type::kRam &&
                 segment.physical_address >= e.address && end <= e.end();
        });
    if (!in_ram) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "multiboot segment [%#x, %#x) is not inside RAM (see the e820 map)",
          segment.physical_address, end));
    }
    if (segment.physical_address <
            kMultibootInfoAddress + kMultibootInfoBytes &&
        end > kMultibootGdtAddress) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "multiboot segment [%#x, %#x) overlaps the boot area [%#x, %#x)",
          segment.physical_address, end, kMultibootGdtAddress,
          kMultibootInfoAddress + kMultibootInfoBytes));
    }
    image_end = std::max(image_end, PageUp(end));
  }
  const bool entry_loaded =
      std::any_of(kernel.segments.begin(), kernel.segments.end(),
                  [&](const LoadSegment& s) {
                    return kernel.entry >= s.physical_address &&
                           kernel.entry < s.physical_address + s.memory_bytes;
                  });
  if (!entry_loaded) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "multiboot entry point %#x is not inside a loaded segment",
        kernel.entry));
  }

  // Modules follow the kernel, page-aligned, as QEMU places them.
  MultibootInfoInputs inputs;
  inputs.memory_map = map;
  inputs.cmdline = config.cmdline.empty()
                       ? config.kernel_name
                       : absl::StrCat(config.kernel_name, " ", config.cmdline);
  std::vector<LoadSegment> module_segments;
  uint64_t next = image_end;
  const uint64_t ram_end = map.empty() ? 0 : [&] {
    uint64_t end = 0;
    for (const E820Entry& e : map) {
      if (e.type == E820Type::kRam) end = std::max(end, e.end());
    }
    return end;
  }();
  for (const KernelModule& module : modules) {
    if (next + module.bytes.size() > ram_end ||
        next + module.bytes.size() > (1ull << 32)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "module '%s' (%u bytes) does not fit in RAM after the kernel at %#x",
          module.name, module.bytes.size(), next));
    }
    inputs.modules.push_back({static_cast<uint32_t>(next),
                              static_cast<uint32_t>(next + module.bytes.size()),
                              module.name});
    module_segments.push_back(
        {next, 0, module.bytes.size(), module.bytes.size()});
    next = PageUp(next + module.bytes.size());
  }
  ASSIGN_OR_RETURN(const std::string info,
                   BuildMultibootInfo(inputs, kMultibootInfoAddress));
  if (info.size() > kMultibootInfoBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the multiboot information (%u bytes: command line and module "
        "strings) is larger than its %u-byte area",
        info.size(), kMultibootInfoBytes));
  }

  EntryState entry;
  entry.mode = CpuMode::kProtectedMode;
  entry.rip = kernel.entry;
  entry.rax = kMultibootBootloaderMagic;
  entry.rbx = kMultibootInfoAddress;
  entry.segments = {0x10, 0x18, 0};
  entry.gdt_address = kMultibootGdtAddress;
  entry.cr0 = kCr0ProtectedMode | kCr0ExtensionType;

  LoadedKernel loaded;
  loaded.boot_vcpu = entry;
  ASSIGN_OR_RETURN(const InstalledSegments image,
                   InstallSegments(kernel.bytes, kernel.segments, sink));
  loaded.pages_installed += image.pages;
  for (size_t i = 0; i < modules.size(); ++i) {
    ASSIGN_OR_RETURN(
        const InstalledSegments module,
        InstallSegments(modules[i].bytes, {module_segments[i]}, sink));
    loaded.pages_installed += module.pages;
  }
  std::map<uint64_t, PageBytes> pages;
  pages[kMultibootGdtAddress] =
      BuildGdtPage(CpuMode::kProtectedMode, entry.segments);
  ASSIGN_OR_RETURN(
      const InstalledSegments info_pages,
      InstallSegments(
          info, {{kMultibootInfoAddress, 0, info.size(), info.size()}}, sink));
  ASSIGN_OR_RETURN(const uint64_t gdt_pages, InstallPages(pages, sink));
  loaded.pages_installed += info_pages.pages + gdt_pages;
  loaded.description = absl::StrFormat(
      "multiboot kernel: entry %#x (%s), %u module(s) from %#x, "
      "multiboot_info %#x, %u pages installed",
      kernel.entry,
      (kernel.header.flags & kMultibootAoutKludge) != 0 ? "a.out kludge"
                                                        : "ELF32",
      modules.size(), image_end, kMultibootInfoAddress, loaded.pages_installed);
  return loaded;
}

}  // namespace faultline::vmm
