#include "vmm/devices/cmos_rtc.h"

#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

// 2026-12-01 13:45:56 UTC, a Tuesday.
absl::Time FixedNow() {
  return absl::FromCivil(absl::CivilSecond(2026, 12, 1, 13, 45, 56),
                         absl::UTCTimeZone());
}

class CmosRtcTest : public ::testing::Test {
 protected:
  uint8_t ReadRegister(uint8_t index) {
    rtc_.Write(0, absl::MakeConstSpan(&index, 1));
    uint8_t value = 0;
    rtc_.Read(1, absl::MakeSpan(&value, 1));
    return value;
  }
  void WriteRegister(uint8_t index, uint8_t value) {
    rtc_.Write(0, absl::MakeConstSpan(&index, 1));
    rtc_.Write(1, absl::MakeConstSpan(&value, 1));
  }
  absl::Time now_ = FixedNow();
  CmosRtc rtc_{[this] { return now_; }};
};

TEST_F(CmosRtcTest, TellsTheTimeInBcdAnd24Hours) {
  EXPECT_EQ(ReadRegister(0x00), 0x56);
  EXPECT_EQ(ReadRegister(0x02), 0x45);
  EXPECT_EQ(ReadRegister(0x04), 0x13);
  EXPECT_EQ(ReadRegister(0x06), 3);  // Tuesday; Sunday is 1
  EXPECT_EQ(ReadRegister(0x07), 0x01);
  EXPECT_EQ(ReadRegister(0x08), 0x12);
  EXPECT_EQ(ReadRegister(0x09), 0x26);
  EXPECT_EQ(ReadRegister(0x32), 0x20);
}

TEST_F(CmosRtcTest, StatusRegistersAsLinuxExpectsThem) {
  EXPECT_EQ(ReadRegister(0x0A), 0x26);  // no update in progress
  EXPECT_EQ(ReadRegister(0x0B), 0x02);  // 24 hours, BCD
  EXPECT_EQ(ReadRegister(0x0C), 0x00);
  EXPECT_EQ(ReadRegister(0x0D), 0x80);  // time valid
  // The index port is write-only; bit 7 (NMI mask) is not part of the index.
  uint8_t index_read = 0;
  rtc_.Read(0, absl::MakeSpan(&index_read, 1));
  EXPECT_EQ(index_read, 0xFF);
  EXPECT_EQ(ReadRegister(0x80 | 0x00), 0x56);
}

TEST_F(CmosRtcTest, BinaryAndTwelveHourModes) {
  WriteRegister(0x0B, 0x04);  // binary, 12 hours
  EXPECT_EQ(ReadRegister(0x00), 56);
  EXPECT_EQ(ReadRegister(0x04), 0x80 | 1);  // 1 pm
  EXPECT_EQ(ReadRegister(0x09), 26);
}

TEST_F(CmosRtcTest, SettingTheClockMovesItFromTheHostsTime) {
  WriteRegister(0x04, 0x08);  // 08:45:56
  EXPECT_EQ(ReadRegister(0x04), 0x08);
  now_ += absl::Seconds(3);
  EXPECT_EQ(ReadRegister(0x00), 0x59);
  EXPECT_EQ(ReadRegister(0x04), 0x08);
  WriteRegister(0x09, 0x30);  // 2030
  EXPECT_EQ(ReadRegister(0x09), 0x30);
  EXPECT_EQ(ReadRegister(0x32), 0x20);
}

TEST_F(CmosRtcTest, GarbageYieldsAValidTimeAndMemoryKeepsItsBytes) {
  WriteRegister(0x08, 0x99);  // month 99 normalizes
  const uint8_t month = ReadRegister(0x08);
  EXPECT_GE(month, 0x01);
  EXPECT_LE(month, 0x12);
  WriteRegister(0x40, 0xA5);
  EXPECT_EQ(ReadRegister(0x40), 0xA5);
  WriteRegister(0x0D, 0x00);  // read-only
  EXPECT_EQ(ReadRegister(0x0D), 0x80);
}

}  // namespace
}  // namespace faultline::vmm
