// How the Redis store lays pages out in keys. Pure functions and constants.
//
// A store's pages are cut into windows of kWindowPages consecutive pages.
// Each window is one Redis string, `fl:w:{<store>:<window>}`: a 32-byte
// header, the window's pages at 4096-byte strides, and one pad byte. The
// hash tag is the window, never the store, so one window (a fault and most
// of its prefetch) is one key in one slot, fetched in one round trip, while
// a store's windows spread over every master.
//
// A window is made at its full size the first time it is touched (SETRANGE
// of the pad byte on a missing key allocates exactly that much), since
// growing a string with SETRANGE has Redis double its allocation. 31 pages,
// the header and the pad are 127,009 bytes, which jemalloc keeps in its 128
// KiB class: about 4% over the page bytes, against 27% for a key per page
// (measured: broker/redis/README.md).
//
// Header: version (16 bytes: the writer's random id and its counter, new for
// every write), present (u32 bitmap of pages ever put), busy (u32 bitmap of
// pages a put is writing) and busy_until (double, ms of the server's clock
// until which the busy marks hold, so a writer that dies frees its pages),
// little-endian. Page bytes never pass through Lua (it is slow with large
// strings): reads are MULTI/GETRANGE/EXEC, writes SETRANGE the pages and run
// a small script on the header, in one MULTI.
#ifndef FAULTLINE_BROKER_REDIS_WINDOW_LAYOUT_H_
#define FAULTLINE_BROKER_REDIS_WINDOW_LAYOUT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker::redis {

inline constexpr uint64_t kPageBytes = v1::wire::kPageBytes;
inline constexpr uint32_t kWindowPages = 31;
inline constexpr uint64_t kHeaderBytes = 32;
inline constexpr uint64_t kPadOffset = kHeaderBytes + kWindowPages * kPageBytes;
inline constexpr uint64_t kWindowValueBytes = kPadOffset + 1;
inline constexpr size_t kVersionBytes = 16;

// Cluster-wide keys (each in its own slot).
inline constexpr char kLayoutKey[] = "fl:layout";
inline constexpr char kStoresKey[] = "fl:stores";  // set of store names
inline constexpr char kTotalKey[] = "fl:total";    // pages in all stores
// What kLayoutKey holds; a broker refuses a cluster written another way.
inline constexpr char kLayoutName[] =
    "faultline page windows v1: 31 pages, 32-byte header, 1 pad byte";

// The store name with every byte outside [A-Za-z0-9._-] as %XX, so no name
// can open or close a hash tag or be a SCAN pattern.
std::string EncodeStoreName(absl::string_view store);
std::string WindowKey(absl::string_view store, uint64_t window);
// The SCAN pattern that matches every window key of `store`.
std::string WindowKeyPattern(absl::string_view store);
// `fl:s:{<store>}`, a hash whose field "pages" counts the pages present.
std::string StoreKey(absl::string_view store);

// The part of a run of pages that falls in one window.
struct WindowSpan {
  uint64_t window = 0;
  uint32_t first = 0;     // first page within the window
  uint32_t count = 0;     // pages within the window
  uint64_t request = 0;   // index of the span's first page in the whole run
  uint32_t mask() const;  // bits first .. first + count - 1
};

// The windows that pages [first_page, first_page + count) touch, in order.
std::vector<WindowSpan> SplitIntoWindows(uint64_t first_page, uint64_t count);

int CountPages(uint32_t mask);

struct WindowHeader {
  std::string version;  // kVersionBytes
  uint32_t present = 0;
  uint32_t busy = 0;
  double busy_until_ms = 0;
};
// nullopt for anything but exactly kHeaderBytes (a window that is missing).
std::optional<WindowHeader> ParseWindowHeader(absl::string_view bytes);
// The inverse, for tests.
std::string FormatWindowHeader(const WindowHeader& header);
// The pages of `header` that are busy when the server's clock says
// `now_ms`.
uint32_t BusyAt(const WindowHeader& header, double now_ms);

}  // namespace faultline::broker::redis

#endif  // FAULTLINE_BROKER_REDIS_WINDOW_LAYOUT_H_
