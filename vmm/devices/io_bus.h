// An address space of devices (port I/O or MMIO): ranges mapped to
// IoHandlers. Accesses to unmapped addresses read as all-ones, like an empty
// bus, and are counted; the first kLoggedUnmappedAddresses distinct addresses
// are logged, so a guest sweeping unmapped space cannot flood the log.
//
// Threading: Add() while the VM is built; Read/Write from any vCPU thread.
#ifndef FAULTLINE_VMM_DEVICES_IO_BUS_H_
#define FAULTLINE_VMM_DEVICES_IO_BUS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "vmm/devices/io_handler.h"

namespace faultline::vmm {

class IoBus {
 public:
  static constexpr size_t kLoggedUnmappedAddresses = 16;

  explicit IoBus(std::string name) : name_(std::move(name)) {}

  IoBus(const IoBus&) = delete;
  IoBus& operator=(const IoBus&) = delete;

  // Maps [base, base + size) to `handler` (not owned, must outlive the bus).
  absl::Status Add(uint64_t base, uint64_t size, IoHandler* handler,
                   std::string device_name);

  void Read(uint64_t address, absl::Span<uint8_t> data);
  void Write(uint64_t address, absl::Span<const uint8_t> data);

  uint64_t unhandled_accesses() const;
  // Distinct unmapped addresses logged so far (at most the constant above).
  size_t logged_unmapped_addresses() const;

 private:
  struct Mapping {
    uint64_t base;
    uint64_t size;
    IoHandler* handler;
    std::string device_name;
  };
  const Mapping* Find(uint64_t address, size_t length) const;
  void NoteUnhandled(uint64_t address, bool write);

  const std::string name_;
  std::vector<Mapping> mappings_;  // fixed once vCPUs run
  mutable absl::Mutex mutex_;
  absl::flat_hash_set<uint64_t> logged_ ABSL_GUARDED_BY(mutex_);
  uint64_t unhandled_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_IO_BUS_H_
