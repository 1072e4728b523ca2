#include "broker/redis/window_layout.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace faultline::broker::redis {

std::string EncodeStoreName(absl::string_view store) {
  std::string encoded;
  for (unsigned char c : store) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                       c == '-';
    if (plain) {
      encoded.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&encoded, "%%%02X", c);
    }
  }
  return encoded;
}

std::string WindowKey(absl::string_view store, uint64_t window) {
  return absl::StrCat("fl:w:{", EncodeStoreName(store), ":", window, "}");
}

std::string WindowKeyPattern(absl::string_view store) {
  return absl::StrCat("fl:w:{", EncodeStoreName(store), ":*}");
}

std::string StoreKey(absl::string_view store) {
  return absl::StrCat("fl:s:{", EncodeStoreName(store), "}");
}

uint32_t WindowSpan::mask() const {
  const uint64_t ones = (uint64_t{1} << count) - 1;
  return static_cast<uint32_t>(ones << first);
}

std::vector<WindowSpan> SplitIntoWindows(uint64_t first_page, uint64_t count) {
  std::vector<WindowSpan> spans;
  uint64_t page = first_page;
  uint64_t done = 0;
  while (done < count) {
    WindowSpan span;
    span.window = page / kWindowPages;
    span.first = static_cast<uint32_t>(page % kWindowPages);
    span.count = static_cast<uint32_t>(
        std::min<uint64_t>(kWindowPages - span.first, count - done));
    span.request = done;
    spans.push_back(span);
    page += span.count;
    done += span.count;
  }
  return spans;
}

int CountPages(uint32_t mask) { return __builtin_popcount(mask); }

std::optional<WindowHeader> ParseWindowHeader(absl::string_view bytes) {
  static_assert(kHeaderBytes == kVersionBytes + 4 + 4 + sizeof(double));
  if (bytes.size() != kHeaderBytes) return std::nullopt;
  WindowHeader header;
  header.version = std::string(bytes.substr(0, kVersionBytes));
  const unsigned char* at =
      reinterpret_cast<const unsigned char*>(bytes.data()) + kVersionBytes;
  for (int i = 0; i < 4; ++i) {
    header.present |= uint32_t{at[i]} << (8 * i);
    header.busy |= uint32_t{at[4 + i]} << (8 * i);
  }
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits |= uint64_t{at[8 + i]} << (8 * i);
  std::memcpy(&header.busy_until_ms, &bits, sizeof(bits));
  return header;
}

std::string FormatWindowHeader(const WindowHeader& header) {
  std::string bytes = header.version;
  bytes.resize(kVersionBytes, '\0');
  uint64_t bits = 0;
  std::memcpy(&bits, &header.busy_until_ms, sizeof(bits));
  for (int i = 0; i < 4; ++i)
    bytes.push_back(static_cast<char>(header.present >> (8 * i)));
  for (int i = 0; i < 4; ++i)
    bytes.push_back(static_cast<char>(header.busy >> (8 * i)));
  for (int i = 0; i < 8; ++i)
    bytes.push_back(static_cast<char>(bits >> (8 * i)));
  return bytes;
}

uint32_t BusyAt(const WindowHeader& header, double now_ms) {
  return now_ms < header.busy_until_ms ? header.busy : 0;
}

}  // namespace faultline::broker::redis
