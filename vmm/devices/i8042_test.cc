#include "vmm/devices/i8042.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "vmm/devices/device_fakes.h"

namespace faultline::vmm {
namespace {

class I8042Test : public ::testing::Test {
 protected:
  void Command(uint8_t value) {
    i8042_.Write(4, absl::MakeConstSpan(&value, 1));
  }
  void Data(uint8_t value) { i8042_.Write(0, absl::MakeConstSpan(&value, 1)); }
  uint8_t Status() {
    uint8_t value = 0;
    i8042_.Read(4, absl::MakeSpan(&value, 1));
    return value;
  }
  uint8_t ReadData() {
    uint8_t value = 0;
    i8042_.Read(0, absl::MakeSpan(&value, 1));
    return value;
  }
  std::vector<std::string> resets_;
  FakeIrqSink sink_;
  IrqLine irq_{&sink_, 1};
  I8042 i8042_{[this](const std::string& how) { resets_.push_back(how); },
               &irq_};
};

TEST_F(I8042Test, PulsingTheResetLineResetsOnce) {
  EXPECT_EQ(Status() & 0x02, 0) << "input buffer empty: kb_wait returns";
  Command(0xFE);
  Command(0xFE);
  ASSERT_EQ(resets_.size(), 1u);
  EXPECT_NE(resets_[0].find("0xFE"), std::string::npos);
}

TEST_F(I8042Test, OutputPortBitZeroClearResets) {
  Command(0xD1);
  Data(0x03);
  EXPECT_TRUE(resets_.empty());
  Command(0xD1);
  Data(0x02);
  EXPECT_EQ(resets_.size(), 1u);
}

TEST_F(I8042Test, SelfTestsAndCommandByte) {
  Command(0xAA);
  EXPECT_EQ(Status() & 0x01, 1) << "output buffer full";
  EXPECT_EQ(ReadData(), 0x55);
  EXPECT_EQ(Status() & 0x01, 0);
  Command(0xAB);
  EXPECT_EQ(ReadData(), 0x00);
  Command(0x60);
  Data(0x74);
  Command(0x20);
  EXPECT_EQ(ReadData(), 0x74);
  Command(0xFF);  // pulses nothing
  EXPECT_TRUE(resets_.empty());
}

TEST_F(I8042Test, KeyboardAcknowledgesWithAnInterrupt) {
  Data(0xF2);  // get ID
  EXPECT_TRUE(sink_.Level(1));
  EXPECT_EQ(ReadData(), 0xFA);
  EXPECT_EQ(ReadData(), 0xAB);
  EXPECT_EQ(ReadData(), 0x83);
  EXPECT_FALSE(sink_.Level(1));
  Command(0x60);
  Data(0x00);  // keyboard interrupt off
  Data(0xFF);
  EXPECT_FALSE(sink_.Level(1));
  EXPECT_EQ(ReadData(), 0xFA);
  EXPECT_EQ(ReadData(), 0xAA);
}

}  // namespace
}  // namespace faultline::vmm
