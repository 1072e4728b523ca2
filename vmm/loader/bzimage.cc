#include "vmm/loader/bzimage.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"

namespace faultline::vmm {
namespace {

// The last setup header field read here (init_size) ends at 0x264; the
// header may not run into boot_params' next field at 0x290.
constexpr uint64_t kMinHeaderEnd = 0x264;
constexpr uint64_t kMaxHeaderEnd = 0x290;

template <typename T>
T Get(const std::string& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(value));
  return value;
}

bool IsPowerOfTwo(uint64_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

}  // namespace

absl::StatusOr<SetupHeader> ParseSetupHeader(const std::string& bytes) {
  if (bytes.size() < 0x206) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%u bytes: too short for a bzImage's setup header", bytes.size()));
  }
  SetupHeader header;
  header.boot_flag = Get<uint16_t>(bytes, 0x1FE);
  header.header = Get<uint32_t>(bytes, 0x202);
  if (header.boot_flag != kBootFlag || header.header != kHdrSMagic) {
    return absl::InvalidArgumentError(
        "not a Linux bzImage: no boot flag 0xAA55 and \"HdrS\" setup header "
        "(a multiboot kernel must be an ELF with a multiboot header)");
  }
  header.end_offset = 0x202 + static_cast<uint8_t>(bytes[0x201]);
  if (header.end_offset < kMinHeaderEnd || header.end_offset > kMaxHeaderEnd ||
      header.end_offset > bytes.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the setup header ends at %#x: need %#x to %#x, inside the file",
        header.end_offset, kMinHeaderEnd, kMaxHeaderEnd));
  }
  header.version = Get<uint16_t>(bytes, 0x206);
  if (header.version < kMinBootProtocol) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "boot protocol %u.%02u is too old: need 2.12 or newer (Linux 3.8+)",
        header.version >> 8, header.version & 0xFF));
  }
  header.setup_sects = static_cast<uint8_t>(bytes[0x1F1]);
  header.loadflags = static_cast<uint8_t>(bytes[0x211]);
  header.initrd_addr_max = Get<uint32_t>(bytes, 0x22C);
  header.kernel_alignment = Get<uint32_t>(bytes, 0x230);
  header.relocatable_kernel = static_cast<uint8_t>(bytes[0x234]);
  header.xloadflags = Get<uint16_t>(bytes, 0x236);
  header.cmdline_size = Get<uint32_t>(bytes, 0x238);
  header.pref_address = Get<uint64_t>(bytes, 0x258);
  header.init_size = Get<uint32_t>(bytes, 0x260);
  if ((header.loadflags & kLoadedHigh) == 0) {
    return absl::InvalidArgumentError(
        "a zImage (loads below 1 MiB): only bzImages are supported");
  }
  if ((header.xloadflags & kXlfKernel64) == 0) {
    return absl::InvalidArgumentError(
        "the kernel has no 64-bit entry point (XLF_KERNEL_64): a 32-bit "
        "kernel?");
  }
  if (header.relocatable_kernel != 0 &&
      (!IsPowerOfTwo(header.kernel_alignment) ||
       header.kernel_alignment < 4096 ||
       header.kernel_alignment > (1u << 30))) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "kernel_alignment %#x is not a power of two from 4 KiB to 1 GiB",
        header.kernel_alignment));
  }
  if (header.init_size == 0 || header.pref_address % 4096 != 0 ||
      header.pref_address > (1ull << 32)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("init_size %#x / pref_address %#x are not a kernel's",
                        header.init_size, header.pref_address));
  }
  return header;
}

absl::StatusOr<BzImage> ParseBzImage(std::string bytes) {
  absl::StatusOr<SetupHeader> header = ParseSetupHeader(bytes);
  if (!header.ok()) return header.status();
  BzImage image;
  image.header = *header;
  const uint64_t setup_sects =
      image.header.setup_sects == 0 ? 4 : image.header.setup_sects;
  image.kernel_offset = (setup_sects + 1) * 512;
  if (image.kernel_offset >= bytes.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "truncated: %u setup sectors but only %u bytes, no kernel after them",
        setup_sects, bytes.size()));
  }
  image.kernel_bytes = bytes.size() - image.kernel_offset;
  image.bytes = std::move(bytes);
  return image;
}

uint64_t DecompressAddress(const SetupHeader& header) {
  if (header.relocatable_kernel == 0) return header.pref_address;
  const uint64_t alignment = header.kernel_alignment;
  const uint64_t aligned =
      (kBzImageLoadAddress + alignment - 1) & ~(alignment - 1);
  return std::max(aligned, header.pref_address);
}

}  // namespace faultline::vmm
