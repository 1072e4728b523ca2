// The PC's CMOS real-time clock (MC146818) at ports 0x70 (index; bit 7 masks
// NMI) and 0x71 (data): the time of day in BCD or binary, 24- or 12-hour as
// status register B says, status A never showing an update in progress,
// status D saying the time is valid, and the other bytes as 128 bytes of
// CMOS memory. A guest that sets the clock moves an offset from the host's
// time; no interrupts (alarm, periodic, update) are raised. Without this
// device Linux's rtc_cmos spends about 15 s probing.
//
// Threading: safe from any vCPU thread (one lock).
#ifndef FAULTLINE_VMM_DEVICES_CMOS_RTC_H_
#define FAULTLINE_VMM_DEVICES_CMOS_RTC_H_

#include <array>
#include <cstdint>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "vmm/devices/io_handler.h"

namespace faultline::vmm {

class CmosRtc : public IoHandler {
 public:
  static constexpr uint16_t kBasePort = 0x70;
  static constexpr uint64_t kPortCount = 2;

  using Clock = std::function<absl::Time()>;
  explicit CmosRtc(Clock clock = [] { return absl::Now(); });

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

 private:
  uint8_t ReadData() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void WriteData(uint8_t value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The guest's view of now (UTC), broken down.
  absl::CivilSecond GuestTime() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  uint8_t Encode(int value) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  int Decode(uint8_t value) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const Clock clock_;
  absl::Mutex mutex_;
  uint8_t index_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::Duration offset_ ABSL_GUARDED_BY(mutex_);  // guest time - host time
  std::array<uint8_t, 128> memory_ ABSL_GUARDED_BY(mutex_) = {};
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_CMOS_RTC_H_
