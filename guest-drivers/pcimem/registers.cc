#include "guest-drivers/pcimem/registers.h"

#include "proto/guest_abi.h"

namespace faultline::guest {

bool CheckRegisterValues(const PciMemRegisterValues& values,
                         uint64_t window_bytes, ErrorMessage* error) {
  if (values.magic != guest_abi::kPciMemMagic) {
    error->Set("register block magic 0x%08x, expected 0x%08x", values.magic,
               guest_abi::kPciMemMagic);
    return false;
  }
  if (values.version < kPciMemVersion) {
    error->Set("register block version %u, this driver needs %u or later",
               values.version, kPciMemVersion);
    return false;
  }
  if (values.frame_bytes != guest_abi::kPageBytes) {
    error->Set("frame size %u, expected %llu", values.frame_bytes,
               static_cast<unsigned long long>(guest_abi::kPageBytes));
    return false;
  }
  const uint64_t window_frames = window_bytes / guest_abi::kPageBytes;
  if (values.frame_count == 0 || values.frame_count > window_frames) {
    error->Set("frame count %llu, the window holds 1..%llu",
               static_cast<unsigned long long>(values.frame_count),
               static_cast<unsigned long long>(window_frames));
    return false;
  }
  return true;
}

}  // namespace faultline::guest
