// The device as flmem sees it: a shared mapping of some of its pages, and
// its sysfs attributes.
//
// Threading: a Mapping may be read and written from any thread.
#ifndef FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_DEVICE_H_
#define FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_DEVICE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace faultline::flmem {

class Mapping {
 public:
  // Opens `device` and maps pages [first, first + count) shared, read and
  // write. Null with the reason in `error` on failure.
  static std::unique_ptr<Mapping> Open(const std::string& device,
                                       uint64_t first, uint64_t count,
                                       std::string* error);
  ~Mapping();

  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  volatile uint64_t* Page(uint64_t mapped_page) const {
    return base_ + mapped_page * 512;
  }
  uint64_t pages() const { return pages_; }
  uintptr_t start() const { return reinterpret_cast<uintptr_t>(base_); }

 private:
  Mapping(int fd, volatile uint64_t* base, uint64_t pages)
      : fd_(fd), base_(base), pages_(pages) {}

  const int fd_;
  volatile uint64_t* const base_;
  const uint64_t pages_;
};

// The folder of a device node's sysfs attributes:
// /sys/class/misc/<node name>.
std::string SysfsFolder(const std::string& device);

// Every attribute file under `folder` and its folders one level down, as
// ("retries_by_reason/revoked", "3"), sorted; empty if there is none.
std::vector<std::pair<std::string, std::string>> ReadAttributes(
    const std::string& folder);

}  // namespace faultline::flmem

#endif  // FAULTLINE_GUEST_DRIVERS_LINUX_FLMEM_DEVICE_H_
