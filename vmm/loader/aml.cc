#include "vmm/loader/aml.h"

#include "absl/strings/str_cat.h"

namespace faultline::vmm::aml {
namespace {

constexpr char kZeroOp = 0x00;
constexpr char kOneOp = 0x01;
constexpr char kNameOp = 0x08;
constexpr char kBytePrefix = 0x0A;
constexpr char kWordPrefix = 0x0B;
constexpr char kDWordPrefix = 0x0C;
constexpr char kQWordPrefix = 0x0E;
constexpr char kScopeOp = 0x10;
constexpr char kBufferOp = 0x11;
constexpr char kPackageOp = 0x12;
constexpr char kExtOpPrefix = 0x5B;
constexpr char kDeviceOp = static_cast<char>(0x82);
constexpr char kRootChar = '\\';

// Address space descriptors: resource types and general flags.
constexpr uint8_t kMemoryRange = 0;
constexpr uint8_t kIoRange = 1;
constexpr uint8_t kBusNumberRange = 2;
constexpr uint8_t kMinMaxFixedProducer = 0x0C;  // _MIF, _MAF, producer
constexpr uint8_t kIoEntireRange = 0x03;
constexpr uint8_t kMemoryReadWrite = 0x01;
constexpr uint8_t kMemoryPrefetchable = 0x06;  // _MEM = 3

std::string Little(uint64_t value, size_t bytes) {
  std::string out(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i)
    out[i] = static_cast<char>(value >> (8 * i));
  return out;
}

std::string WithPkgLength(char op, const std::string& body) {
  return absl::StrCat(std::string(1, op), PkgLength(body.size()), body);
}

// A large address space descriptor: tag, length, type, flags, then the five
// fields (granularity, minimum, maximum, translation, length) of `width`.
std::string AddressSpace(uint8_t tag, size_t width, uint8_t type,
                         uint8_t specific_flags, uint64_t min, uint64_t max) {
  std::string fields =
      absl::StrCat(std::string(1, static_cast<char>(type)),
                   std::string(1, static_cast<char>(kMinMaxFixedProducer)),
                   std::string(1, static_cast<char>(specific_flags)),
                   Little(0, width), Little(min, width), Little(max, width),
                   Little(0, width), Little(max - min + 1, width));
  return absl::StrCat(std::string(1, static_cast<char>(tag)),
                      Little(fields.size(), 2), fields);
}

}  // namespace

std::string PkgLength(size_t content_bytes) {
  // The length counts its own bytes: 1 byte up to 63, then a lead byte with
  // the count of follow bytes in bits 7-6 and the low nibble in bits 3-0.
  for (size_t extra = 0; extra <= 3; ++extra) {
    const size_t total = content_bytes + 1 + extra;
    if (extra == 0) {
      if (total <= 0x3F) return std::string(1, static_cast<char>(total));
      continue;
    }
    if (total >= (size_t{1} << (4 + 8 * extra))) continue;
    std::string out(1, static_cast<char>((extra << 6) | (total & 0x0F)));
    for (size_t i = 0; i < extra; ++i) {
      out.push_back(static_cast<char>(total >> (4 + 8 * i)));
    }
    return out;
  }
  return "";  // past 256 MiB: no table here comes close
}

std::string Integer(uint64_t value) {
  if (value == 0) return std::string(1, kZeroOp);
  if (value == 1) return std::string(1, kOneOp);
  if (value <= 0xFF)
    return absl::StrCat(std::string(1, kBytePrefix), Little(value, 1));
  if (value <= 0xFFFF)
    return absl::StrCat(std::string(1, kWordPrefix), Little(value, 2));
  if (value <= 0xFFFFFFFF) {
    return absl::StrCat(std::string(1, kDWordPrefix), Little(value, 4));
  }
  return absl::StrCat(std::string(1, kQWordPrefix), Little(value, 8));
}

std::string NameString(absl::string_view name) {
  std::string out;
  if (!name.empty() && name[0] == kRootChar) {
    out.push_back(kRootChar);
    name.remove_prefix(1);
  }
  std::string segment(name.substr(0, 4));
  segment.resize(4, '_');
  return out + segment;
}

std::string Name(absl::string_view name, const std::string& value) {
  return absl::StrCat(std::string(1, kNameOp), NameString(name), value);
}

std::string Scope(absl::string_view name, const std::string& body) {
  return WithPkgLength(kScopeOp, NameString(name) + body);
}

std::string Device(absl::string_view name, const std::string& body) {
  return std::string(1, kExtOpPrefix) +
         WithPkgLength(kDeviceOp, NameString(name) + body);
}

std::string Package(const std::vector<std::string>& elements) {
  std::string body(1, static_cast<char>(elements.size()));
  for (const std::string& element : elements) body += element;
  return WithPkgLength(kPackageOp, body);
}

std::string Buffer(const std::string& bytes) {
  return WithPkgLength(kBufferOp, Integer(bytes.size()) + bytes);
}

std::string EisaId(absl::string_view id) {
  if (id.size() != 7) return Integer(0);
  auto letter = [&](size_t i) {
    return static_cast<uint32_t>(id[i] - '@') & 0x1F;
  };
  auto hex = [&](size_t i) -> uint32_t {
    const char c = id[i];
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
  };
  // Big-endian: three 5-bit letters, then four hex digits.
  const uint32_t big = (letter(0) << 26) | (letter(1) << 21) |
                       (letter(2) << 16) | (hex(3) << 12) | (hex(4) << 8) |
                       (hex(5) << 4) | hex(6);
  const uint32_t swapped = ((big & 0xFF) << 24) | ((big & 0xFF00) << 8) |
                           ((big >> 8) & 0xFF00) | (big >> 24);
  return absl::StrCat(std::string(1, kDWordPrefix), Little(swapped, 4));
}

std::string WordBusNumber(uint16_t min, uint16_t max) {
  return AddressSpace(0x88, 2, kBusNumberRange, 0, min, max);
}

std::string WordIo(uint16_t min, uint16_t max) {
  return AddressSpace(0x88, 2, kIoRange, kIoEntireRange, min, max);
}

std::string IoPort(uint16_t min, uint16_t max, uint8_t alignment,
                   uint8_t length) {
  // Small descriptor 0x47: 16-bit decode.
  return absl::StrCat("\x47\x01", Little(min, 2), Little(max, 2),
                      Little(alignment, 1), Little(length, 1));
}

std::string IrqNoFlags(uint8_t irq) {
  // Small descriptor 0x22: a 16-bit mask of ISA interrupts.
  return absl::StrCat("\x22", Little(irq < 16 ? 1u << irq : 0, 2));
}

std::string DWordMemory(uint32_t min, uint32_t max, bool prefetchable) {
  return AddressSpace(
      0x87, 4, kMemoryRange,
      kMemoryReadWrite | (prefetchable ? kMemoryPrefetchable : 0), min, max);
}

std::string QWordMemory(uint64_t min, uint64_t max, bool prefetchable) {
  return AddressSpace(
      0x8A, 8, kMemoryRange,
      kMemoryReadWrite | (prefetchable ? kMemoryPrefetchable : 0), min, max);
}

std::string ResourceTemplate(const std::vector<std::string>& descriptors) {
  std::string bytes;
  for (const std::string& descriptor : descriptors) bytes += descriptor;
  bytes += std::string("\x79\x00", 2);  // end tag, checksum 0 (not checked)
  return Buffer(bytes);
}

}  // namespace faultline::vmm::aml
