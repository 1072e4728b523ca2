#include "vmm/memory/anonymous_mapping.h"

#include <sys/mman.h>

#include "proto/base/errno_status.h"

namespace faultline::vmm {

absl::StatusOr<std::unique_ptr<AnonymousMapping>> AnonymousMapping::Create(
    size_t size_bytes) {
  void* data = ::mmap(nullptr, size_bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (data == MAP_FAILED) return ErrnoError("mmap anonymous guest memory");
  return std::unique_ptr<AnonymousMapping>(
      new AnonymousMapping(static_cast<uint8_t*>(data), size_bytes));
}

AnonymousMapping::~AnonymousMapping() { ::munmap(data_, size_); }

}  // namespace faultline::vmm
