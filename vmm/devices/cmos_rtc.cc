#include "vmm/devices/cmos_rtc.h"

namespace faultline::vmm {
namespace {

constexpr uint8_t kSeconds = 0x00;
constexpr uint8_t kMinutes = 0x02;
constexpr uint8_t kHours = 0x04;
constexpr uint8_t kWeekday = 0x06;
constexpr uint8_t kDayOfMonth = 0x07;
constexpr uint8_t kMonth = 0x08;
constexpr uint8_t kYear = 0x09;
constexpr uint8_t kStatusA = 0x0A;
constexpr uint8_t kStatusB = 0x0B;
constexpr uint8_t kStatusC = 0x0C;
constexpr uint8_t kStatusD = 0x0D;
constexpr uint8_t kCentury = 0x32;

// 32.768 kHz time base, 1024 Hz periodic rate; bit 7 (update in
// progress) stays clear: a read never races an update here.
constexpr uint8_t kStatusADefault = 0x26;
constexpr uint8_t kStatusBBinary = 0x04;
constexpr uint8_t kStatusB24Hour = 0x02;
constexpr uint8_t kStatusBDefault = kStatusB24Hour;
constexpr uint8_t kStatusDValid = 0x80;
constexpr uint8_t kHourPm = 0x80;

}  // namespace

CmosRtc::CmosRtc(Clock clock) : clock_(std::move(clock)) {
  absl::MutexLock lock(&mutex_);
  memory_[kStatusA] = kStatusADefault;
  memory_[kStatusB] = kStatusBDefault;
}

void CmosRtc::Read(uint64_t offset, absl::Span<uint8_t> data) {
  absl::MutexLock lock(&mutex_);
  for (size_t i = 0; i < data.size(); ++i) {
    // The index port is write-only; it reads as an empty bus.
    data[i] = offset + i == 1 ? ReadData() : 0xFF;
  }
}

void CmosRtc::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  absl::MutexLock lock(&mutex_);
  for (size_t i = 0; i < data.size(); ++i) {
    if (offset + i == 0) {
      index_ = data[i] & 0x7F;  // bit 7 masks NMI; there is none to mask
    } else if (offset + i == 1) {
      WriteData(data[i]);
    }
  }
}

absl::CivilSecond CmosRtc::GuestTime() const {
  return absl::ToCivilSecond(clock_() + offset_, absl::UTCTimeZone());
}

uint8_t CmosRtc::Encode(int value) const {
  if ((memory_[kStatusB] & kStatusBBinary) != 0) {
    return static_cast<uint8_t>(value);
  }
  return static_cast<uint8_t>(((value / 10) << 4) | (value % 10));
}

int CmosRtc::Decode(uint8_t value) const {
  if ((memory_[kStatusB] & kStatusBBinary) != 0) return value;
  return (value >> 4) * 10 + (value & 0x0F);
}

uint8_t CmosRtc::ReadData() {
  const absl::CivilSecond now = GuestTime();
  switch (index_) {
    case kSeconds:
      return Encode(now.second());
    case kMinutes:
      return Encode(now.minute());
    case kHours: {
      if ((memory_[kStatusB] & kStatusB24Hour) != 0) return Encode(now.hour());
      const int hour12 = now.hour() % 12 == 0 ? 12 : now.hour() % 12;
      return Encode(hour12) | (now.hour() >= 12 ? kHourPm : 0);
    }
    case kWeekday: {
      // 1 = Sunday.
      const absl::Weekday day = absl::GetWeekday(absl::CivilDay(now));
      return Encode(day == absl::Weekday::sunday
                        ? 1
                        : static_cast<int>(day) + 2);  // monday is 0
    }
    case kDayOfMonth:
      return Encode(now.day());
    case kMonth:
      return Encode(now.month());
    case kYear:
      return Encode(static_cast<int>(now.year() % 100));
    case kCentury:
      return Encode(static_cast<int>(now.year() / 100));
    case kStatusC:
      return 0;  // no interrupt flags: none is ever raised
    case kStatusD:
      return kStatusDValid;
    default:
      return memory_[index_];
  }
}

void CmosRtc::WriteData(uint8_t value) {
  const absl::CivilSecond now = GuestTime();
  int year = static_cast<int>(now.year()), month = now.month(), day = now.day();
  int hour = now.hour(), minute = now.minute(), second = now.second();
  switch (index_) {
    case kSeconds:
      second = Decode(value);
      break;
    case kMinutes:
      minute = Decode(value);
      break;
    case kHours:
      if ((memory_[kStatusB] & kStatusB24Hour) != 0) {
        hour = Decode(value);
      } else {
        hour = Decode(value & ~kHourPm) % 12 + ((value & kHourPm) ? 12 : 0);
      }
      break;
    case kDayOfMonth:
      day = Decode(value);
      break;
    case kMonth:
      month = Decode(value);
      break;
    case kYear:
      year = year / 100 * 100 + Decode(value);
      break;
    case kCentury:
      year = Decode(value) * 100 + year % 100;
      break;
    case kStatusB:
      // The mode bits stay; set (bit 7) and the interrupt enables are kept
      // as memory but change nothing.
      memory_[kStatusB] = value;
      return;
    case kWeekday:  // derived from the date
    case kStatusA:  // the time base is fixed
    case kStatusC:
    case kStatusD:
      return;
    default:
      memory_[index_] = value;
      return;
  }
  // CivilSecond normalizes out-of-range fields (month 13, second 75, BCD
  // garbage), so any write yields a valid time.
  const absl::CivilSecond wanted(year, month, day, hour, minute, second);
  offset_ = absl::FromCivil(wanted, absl::UTCTimeZone()) - clock_();
}

}  // namespace faultline::vmm
