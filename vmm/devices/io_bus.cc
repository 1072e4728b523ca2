#include "vmm/devices/io_bus.h"

#include <cstdio>
#include <cstring>

#include "absl/strings/str_format.h"

namespace faultline::vmm {

absl::Status IoBus::Add(uint64_t base, uint64_t size, IoHandler* handler,
                        std::string device_name) {
  if (size == 0 || base + size < base) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: bad range [%#x, +%#x) for %s", name_, base, size, device_name));
  }
  for (const Mapping& other : mappings_) {
    if (base < other.base + other.size && other.base < base + size) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: %s at [%#x, +%#x) overlaps %s", name_,
                          device_name, base, size, other.device_name));
    }
  }
  mappings_.push_back(Mapping{base, size, handler, std::move(device_name)});
  return absl::OkStatus();
}

const IoBus::Mapping* IoBus::Find(uint64_t address, size_t length) const {
  for (const Mapping& mapping : mappings_) {
    if (address >= mapping.base && address - mapping.base < mapping.size &&
        length <= mapping.base + mapping.size - address) {
      return &mapping;
    }
  }
  return nullptr;
}

void IoBus::NoteUnhandled(uint64_t address, bool write) {
  absl::MutexLock lock(&mutex_);
  ++unhandled_;
  if (logged_.size() >= kLoggedUnmappedAddresses ||
      !logged_.insert(address).second) {
    return;
  }
  std::fprintf(stderr, "vmm: %s: guest %s of unmapped address %#lx%s\n",
               name_.c_str(), write ? "write" : "read",
               static_cast<unsigned long>(address),
               logged_.size() < kLoggedUnmappedAddresses
                   ? " (logged once)"
                   : "; further unmapped addresses are counted, not logged");
}

void IoBus::Read(uint64_t address, absl::Span<uint8_t> data) {
  const Mapping* mapping = Find(address, data.size());
  if (mapping == nullptr) {
    std::memset(data.data(), 0xFF, data.size());
    NoteUnhandled(address, false);
    return;
  }
  mapping->handler->Read(address - mapping->base, data);
}

void IoBus::Write(uint64_t address, absl::Span<const uint8_t> data) {
  const Mapping* mapping = Find(address, data.size());
  if (mapping == nullptr) {
    NoteUnhandled(address, true);
    return;
  }
  mapping->handler->Write(address - mapping->base, data);
}

uint64_t IoBus::unhandled_accesses() const {
  absl::MutexLock lock(&mutex_);
  return unhandled_;
}

size_t IoBus::logged_unmapped_addresses() const {
  absl::MutexLock lock(&mutex_);
  return logged_.size();
}

}  // namespace faultline::vmm
