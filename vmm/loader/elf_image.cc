#include "vmm/loader/elf_image.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_format.h"
#include "proto/guest_abi.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

constexpr uint64_t kMaxPayloadBytes = 512ull << 20;

bool InFile(uint64_t offset, uint64_t size, uint64_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

}  // namespace

absl::StatusOr<ElfImage> ParseElf(std::string bytes) {
  Elf64_Ehdr header;
  if (bytes.size() < sizeof(header)) {
    return absl::InvalidArgumentError("payload is shorter than an ELF header");
  }
  std::memcpy(&header, bytes.data(), sizeof(header));
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
    return absl::InvalidArgumentError("payload is not an ELF file");
  }
  if (header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_ident[EI_DATA] != ELFDATA2LSB || header.e_machine != EM_X86_64) {
    return absl::InvalidArgumentError(
        "payload is not a little-endian ELF64 x86-64 file");
  }
  if (header.e_type != ET_EXEC) {
    return absl::InvalidArgumentError(
        "payload is not a static executable (ET_EXEC)");
  }
  if (header.e_phentsize != sizeof(Elf64_Phdr) ||
      !InFile(header.e_phoff, uint64_t{header.e_phnum} * sizeof(Elf64_Phdr),
              bytes.size())) {
    return absl::InvalidArgumentError(
        "payload's program headers lie outside the file");
  }
  ElfImage image;
  image.entry = header.e_entry;
  for (uint16_t i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr phdr;
    std::memcpy(&phdr, bytes.data() + header.e_phoff + i * sizeof(phdr),
                sizeof(phdr));
    if (phdr.p_type == PT_DYNAMIC || phdr.p_type == PT_INTERP) {
      return absl::InvalidArgumentError(
          "payload is dynamically linked; payloads must be static");
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
    if (phdr.p_paddr + phdr.p_memsz < phdr.p_paddr) {
      return absl::InvalidArgumentError(
          absl::StrFormat("segment %u wraps around the address space", i));
    }
    image.segments.push_back(
        LoadSegment{phdr.p_paddr, phdr.p_offset, phdr.p_filesz, phdr.p_memsz});
  }
  if (image.segments.empty()) {
    return absl::InvalidArgumentError("payload has no PT_LOAD segment");
  }
  image.bytes = std::move(bytes);
  return image;
}

absl::StatusOr<ElfImage> ReadElfFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError("cannot open payload " + path);
  std::ostringstream contents;
  contents << file.rdbuf();
  if (!file && !file.eof()) {
    return absl::DataLossError("cannot read payload " + path);
  }
  std::string bytes = contents.str();
  if (bytes.size() > kMaxPayloadBytes) {
    return absl::InvalidArgumentError("payload " + path + " is too large");
  }
  absl::StatusOr<ElfImage> image = ParseElf(std::move(bytes));
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
