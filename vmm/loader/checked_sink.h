// For the loaders' fuzz targets: a PageSink that stops the process when a
// loader installs what a real guest would refuse (a page outside RAM, not
// page-aligned, or twice: UFFDIO_COPY would fail with EEXIST), so such a
// loader bug is a crash with its input, never a silent pass.
#ifndef FAULTLINE_VMM_LOADER_CHECKED_SINK_H_
#define FAULTLINE_VMM_LOADER_CHECKED_SINK_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "vmm/loader/loader.h"

namespace faultline::vmm {

class CheckedSink {
 public:
  explicit CheckedSink(uint64_t ram_bytes)
      : ram_bytes_(ram_bytes), installed_(ram_bytes / 4096, false) {}

  PageSink Sink() {
    return [this](uint64_t address, const uint8_t*) {
      const bool inside = address % 4096 == 0 && address < ram_bytes_;
      if (!inside || installed_[address / 4096]) {
        std::fprintf(stderr,
                     "loader installed page %#llx (RAM %#llx bytes, %s)\n",
                     static_cast<unsigned long long>(address),
                     static_cast<unsigned long long>(ram_bytes_),
                     inside ? "twice" : "outside");
        std::abort();
      }
      installed_[address / 4096] = true;
      ++pages_;
      return absl::OkStatus();
    };
  }
  uint64_t pages() const { return pages_; }

 private:
  const uint64_t ram_bytes_;
  // One flag per page of RAM: a fuzz input installs up to all of them, and
  // a tree of addresses cost more than the loader under test.
  std::vector<bool> installed_;
  uint64_t pages_ = 0;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_LOADER_CHECKED_SINK_H_
