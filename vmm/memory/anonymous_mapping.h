// An owned anonymous private mapping (MAP_NORESERVE: guest RAM is sparse
// until faults fill it). Unmapped on destruction.
#ifndef FAULTLINE_VMM_MEMORY_ANONYMOUS_MAPPING_H_
#define FAULTLINE_VMM_MEMORY_ANONYMOUS_MAPPING_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"

namespace faultline::vmm {

class AnonymousMapping {
 public:
  static absl::StatusOr<std::unique_ptr<AnonymousMapping>> Create(
      size_t size_bytes);
  ~AnonymousMapping();

  AnonymousMapping(const AnonymousMapping&) = delete;
  AnonymousMapping& operator=(const AnonymousMapping&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  AnonymousMapping(uint8_t* data, size_t size) : data_(data), size_(size) {}

  uint8_t* data_;
  size_t size_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_MEMORY_ANONYMOUS_MAPPING_H_
