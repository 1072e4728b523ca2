// Parses and checks an ELF64 x86-64 executable (a guest payload): the
// header, program headers and PT_LOAD segments, with every offset and size
// bounds-checked against the file. Pure: works on bytes.
#ifndef FAULTLINE_VMM_LOADER_ELF_IMAGE_H_
#define FAULTLINE_VMM_LOADER_ELF_IMAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace faultline::vmm {

struct LoadSegment {
  uint64_t physical_address = 0;  // p_paddr
  uint64_t file_offset = 0;
  uint64_t file_bytes = 0;    // p_filesz
  uint64_t memory_bytes = 0;  // p_memsz; the rest past file_bytes is .bss
};

struct ElfImage {
  std::string bytes;  // the whole file
  uint64_t entry = 0;
  std::vector<LoadSegment> segments;
};

absl::StatusOr<ElfImage> ParseElf(std::string bytes);
absl::StatusOr<ElfImage> ReadElfFile(const std::string& path);

// Checks the segments fit the guest: at or above kPayloadMinAddress, inside
// [0, ram_bytes), not overlapping each other, entry inside a segment.
absl::Status CheckFitsGuest(const ElfImage& image, uint64_t ram_bytes);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_LOADER_ELF_IMAGE_H_
