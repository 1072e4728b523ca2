// For the loaders' fuzz targets: a PageSink that stops the process when a
// loader installs what a real guest would refuse (a page outside RAM, not
// page-aligned, or twice: UFFDIO_COPY would fail with EEXIST), so such a
// loader bug is a crash with its input, never a silent pass.
#ifndef FAULTLINE_VMM_LOADER_CHECKED_SINK_H_
#define FAULTLINE_VMM_LOADER_CHECKED_SINK_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "vmm/loader/loader.h"

namespace faultline::vmm {

class CheckedSink {
 public:
  explicit CheckedSink(uint64_t ram_bytes) : ram_bytes_(ram_bytes) {}

  PageSink Sink() {
    return [this](uint64_t address, const uint8_t*) {
      if (address % 4096 != 0 || address >= ram_bytes_ ||
          !installed_.insert(address).second) {
        std::fprintf(stderr,
                     "loader installed page %#llx (RAM %#llx bytes, %s)\n",
                     static_cast<unsigned long long>(address),
                     static_cast<unsigned long long>(ram_bytes_),
                     installed_.count(address) != 0 ? "twice" : "outside");
        std::abort();
      }
      return absl::OkStatus();
    };
  }
  uint64_t pages() const { return installed_.size(); }

 private:
  const uint64_t ram_bytes_;
  std::set<uint64_t> installed_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_LOADER_CHECKED_SINK_H_
