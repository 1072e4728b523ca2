// A Linux bzImage as the x86 boot protocol describes it
// (Documentation/arch/x86/boot.rst): the setup header read as plain data
// and checked (boot flag, "HdrS", protocol 2.12 or newer, a bzImage that
// loads at 1 MiB, a 64-bit entry point, sane alignment and sizes), and
// where the protected-mode kernel lies in the file. Pure: works on bytes;
// every error names what is wrong and nothing is installed.
#ifndef FAULTLINE_VMM_LOADER_BZIMAGE_H_
#define FAULTLINE_VMM_LOADER_BZIMAGE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace faultline::vmm {

// The setup header fields the loader uses (offsets are into the file and,
// from 0x1F1 on, into boot_params).
struct SetupHeader {
  uint8_t setup_sects = 0;         // 0x1F1; 0 means 4
  uint16_t boot_flag = 0;          // 0x1FE, 0xAA55
  uint32_t header = 0;             // 0x202, "HdrS"
  uint16_t version = 0;            // 0x206, e.g. 0x020F for 2.15
  uint8_t loadflags = 0;           // 0x211
  uint32_t initrd_addr_max = 0;    // 0x22C
  uint32_t kernel_alignment = 0;   // 0x230
  uint8_t relocatable_kernel = 0;  // 0x234
  uint16_t xloadflags = 0;         // 0x236
  uint32_t cmdline_size = 0;       // 0x238
  uint64_t pref_address = 0;       // 0x258
  uint32_t init_size = 0;          // 0x260
  // The header runs from 0x1F1 to 0x202 + the byte at 0x201.
  uint32_t end_offset = 0;
};

inline constexpr uint16_t kBootFlag = 0xAA55;
inline constexpr uint32_t kHdrSMagic = 0x53726448;  // "HdrS"
inline constexpr uint16_t kMinBootProtocol = 0x020C;
inline constexpr uint8_t kLoadedHigh = 0x01;
inline constexpr uint8_t kCanUseHeap = 0x80;
inline constexpr uint16_t kXlfKernel64 = 0x01;
inline constexpr uint64_t kSetupHeaderOffset = 0x1F1;
inline constexpr uint64_t kBzImageLoadAddress = 0x100000;

struct BzImage {
  SetupHeader header;
  std::string bytes;           // the whole file
  uint64_t kernel_offset = 0;  // the protected-mode kernel: (setup_sects+1)*512
  uint64_t kernel_bytes = 0;
};

absl::StatusOr<SetupHeader> ParseSetupHeader(const std::string& bytes);
absl::StatusOr<BzImage> ParseBzImage(std::string bytes);

// Where the kernel decompresses itself when loaded at 1 MiB: a relocatable
// kernel aligns its load address up to kernel_alignment but never goes
// below pref_address; it needs init_size bytes from there.
uint64_t DecompressAddress(const SetupHeader& header);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_LOADER_BZIMAGE_H_
