// Parses and checks an ELF executable: ELF64 x86-64 for a guest payload,
// ELF32 i386 for a multiboot kernel; the header, program headers and
// PT_LOAD segments, with every offset and size bounds-checked against the
// file. Pure: works on bytes.
#ifndef FAULTLINE_VMM_LOADER_ELF_IMAGE_H_
#define FAULTLINE_VMM_LOADER_ELF_IMAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace faultline::vmm {

struct LoadSegment {
  uint64_t physical_address = 0;  // p_paddr
  uint64_t file_offset = 0;
  uint64_t file_bytes = 0;    // p_filesz
  uint64_t memory_bytes = 0;  // p_memsz; the rest past file_bytes is .bss
};

struct ElfImage {
  std::string bytes;  // the whole file
  bool is_64bit = true;
  uint64_t entry = 0;
  std::vector<LoadSegment> segments;
};

// A payload: ELF64 x86-64.
absl::StatusOr<ElfImage> ParseElf(std::string bytes);
// A multiboot kernel: ELF32 i386, loaded at its segments' p_paddr.
absl::StatusOr<ElfImage> ParseElf32(std::string bytes);
absl::StatusOr<ElfImage> ReadElfFile(const std::string& path);

// A whole file, named `what` in errors ("payload", "kernel", "initrd").
absl::StatusOr<std::string> ReadFileBytes(const std::string& path,
                                          absl::string_view what,
                                          uint64_t max_bytes);

// Checks the segments fit the guest: at or above kPayloadMinAddress, inside
// [0, ram_bytes), not overlapping each other, entry inside a segment.
absl::Status CheckFitsGuest(const ElfImage& image, uint64_t ram_bytes);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_LOADER_ELF_IMAGE_H_
