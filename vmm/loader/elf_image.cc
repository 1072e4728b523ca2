#include "vmm/loader/elf_image.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/guest_abi.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

constexpr uint64_t kMaxPayloadBytes = 512ull << 20;

bool InFile(uint64_t offset, uint64_t size, uint64_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

// One parser for both classes: ELF64 x86-64 payloads, ELF32 i386 kernels.
template <typename Ehdr, typename Phdr>
absl::StatusOr<ElfImage> ParseElfClass(std::string bytes,
                                       absl::string_view what,
                                       unsigned char elf_class,
                                       uint16_t machine,
                                       absl::string_view class_name) {
  Ehdr header;
  if (bytes.size() < sizeof(header)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is shorter than an ELF header"));
  }
  std::memcpy(&header, bytes.data(), sizeof(header));
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not an ELF file"));
  }
  if (header.e_ident[EI_CLASS] != elf_class ||
      header.e_ident[EI_DATA] != ELFDATA2LSB || header.e_machine != machine) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not a little-endian ", class_name, " file"));
  }
  if (header.e_type != ET_EXEC) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not a static executable (ET_EXEC)"));
  }
  if (header.e_phentsize != sizeof(Phdr) ||
      !InFile(header.e_phoff, uint64_t{header.e_phnum} * sizeof(Phdr),
              bytes.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, "'s program headers lie outside the file"));
  }
  ElfImage image;
  image.entry = header.e_entry;
  image.is_64bit = elf_class == ELFCLASS64;
  for (uint16_t i = 0; i < header.e_phnum; ++i) {
    Phdr phdr;
    std::memcpy(&phdr, bytes.data() + header.e_phoff + i * sizeof(phdr),
                sizeof(phdr));
    if (phdr.p_type == PT_DYNAMIC || phdr.p_type == PT_INTERP) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " is dynamically linked; it must be static"));
    }
    if (phdr.p_type != PT_LOAD || phdr.p_memsz == 0) continue;
    if (phdr.p_filesz > phdr.p_memsz) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "segment %u has more file bytes (%#x) than memory bytes (%#x)", i,
          phdr.p_filesz, phdr.p_memsz));
    }
    if (!InFile(phdr.p_offset, phdr.p_filesz, bytes.size())) {
      return absl::InvalidArgumentError(
          absl::StrFormat("segment %u lies outside the file", i));
    }
    if (uint64_t{phdr.p_paddr} + phdr.p_memsz < phdr.p_paddr ||
        (elf_class == ELFCLASS32 &&
         uint64_t{phdr.p_paddr} + phdr.p_memsz > (1ull << 32))) {
      return absl::InvalidArgumentError(
          absl::StrFormat("segment %u wraps around the address space", i));
    }
    image.segments.push_back(
        LoadSegment{phdr.p_paddr, phdr.p_offset, phdr.p_filesz, phdr.p_memsz});
  }
  if (image.segments.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " has no PT_LOAD segment"));
  }
  image.bytes = std::move(bytes);
  return image;
}

}  // namespace

absl::StatusOr<ElfImage> ParseElf(std::string bytes) {
  return ParseElfClass<Elf64_Ehdr, Elf64_Phdr>(
      std::move(bytes), "payload", ELFCLASS64, EM_X86_64, "ELF64 x86-64");
}

absl::StatusOr<ElfImage> ParseElf32(std::string bytes) {
  return ParseElfClass<Elf32_Ehdr, Elf32_Phdr>(
      std::move(bytes), "kernel", ELFCLASS32, EM_386, "ELF32 i386");
}

absl::StatusOr<std::string> ReadFileBytes(const std::string& path,
                                          absl::string_view what,
                                          uint64_t max_bytes) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return absl::NotFoundError(absl::StrCat("cannot open ", what, " ", path));
  std::ostringstream contents;
  contents << file.rdbuf();
  if (!file && !file.eof()) {
    return absl::DataLossError(absl::StrCat("cannot read ", what, " ", path));
  }
  std::string bytes = contents.str();
  if (bytes.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s %s is too large (%u bytes, at most %u)", what, path,
                        bytes.size(), max_bytes));
  }
  return bytes;
}

absl::StatusOr<ElfImage> ReadElfFile(const std::string& path) {
  absl::StatusOr<std::string> bytes =
      ReadFileBytes(path, "payload", kMaxPayloadBytes);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<ElfImage> image = ParseElf(*std::move(bytes));
  if (!image.ok()) {
    return absl::Status(image.status().code(),
                        path + ": " + std::string(image.status().message()));
  }
  return image;
}

absl::Status CheckFitsGuest(const ElfImage& image, uint64_t ram_bytes) {
  std::vector<LoadSegment> sorted = image.segments;
  std::sort(sorted.begin(), sorted.end(),
            [](const LoadSegment& a, const LoadSegment& b) {
              return a.physical_address < b.physical_address;
            });
  bool entry_loaded = false;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const LoadSegment& segment = sorted[i];
    const uint64_t end = segment.physical_address + segment.memory_bytes;
    if (segment.physical_address < abi::kPayloadMinAddress) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "segment at %#x is below %#x, in the boot area (page tables, GDT, "
          "boot info)",
          segment.physical_address, abi::kPayloadMinAddress));
    }
    if (end > ram_bytes) {
      return absl::InvalidArgumentError(
          absl::StrFormat("segment [%#x, %#x) does not fit in %#x bytes of RAM",
                          segment.physical_address, end, ram_bytes));
    }
    if (i > 0) {
      const LoadSegment& previous = sorted[i - 1];
      if (previous.physical_address + previous.memory_bytes >
          segment.physical_address) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "segments at %#x and %#x overlap", previous.physical_address,
            segment.physical_address));
      }
    }
    if (image.entry >= segment.physical_address && image.entry < end) {
      entry_loaded = true;
    }
  }
  if (!entry_loaded) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "entry point %#x is not inside a loaded segment", image.entry));
  }
  return absl::OkStatus();
}

}  // namespace faultline::vmm
