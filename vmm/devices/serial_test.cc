#include "vmm/devices/serial.h"

#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

uint8_t ReadByte(Serial8250& serial, uint64_t offset) {
  uint8_t value = 0;
  serial.Read(offset, absl::MakeSpan(&value, 1));
  return value;
}

void WriteByte(Serial8250& serial, uint64_t offset, uint8_t value) {
  serial.Write(offset, absl::MakeConstSpan(&value, 1));
}

class SerialTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::pipe(pipe_), 0); }
  void TearDown() override {
    ::close(pipe_[0]);
    ::close(pipe_[1]);
  }
  std::string Drain(size_t bytes) {
    std::string out(bytes, '\0');
    EXPECT_EQ(::read(pipe_[0], out.data(), bytes), static_cast<ssize_t>(bytes));
    return out;
  }
  int pipe_[2];
};

TEST_F(SerialTest, TransmitsAndShowsEmptyTransmitter) {
  Serial8250 serial(pipe_[1]);
  EXPECT_NE(ReadByte(serial, 5) & 0x20, 0);  // THR empty
  for (char c : std::string("hi\n")) WriteByte(serial, 0, c);
  EXPECT_EQ(Drain(3), "hi\n");
}

TEST_F(SerialTest, DivisorLatchDoesNotTransmit) {
  Serial8250 serial(pipe_[1]);
  WriteByte(serial, 3, 0x83);  // DLAB on
  WriteByte(serial, 0, 0x0C);
  WriteByte(serial, 1, 0x00);
  EXPECT_EQ(ReadByte(serial, 0), 0x0C);
  WriteByte(serial, 3, 0x03);  // DLAB off
  EXPECT_EQ(ReadByte(serial, 3), 0x03);
  WriteByte(serial, 7, 0x5A);
  EXPECT_EQ(ReadByte(serial, 7), 0x5A);
  WriteByte(serial, 0, 'x');
  EXPECT_EQ(Drain(1), "x");
}

TEST_F(SerialTest, LoopbackEchoes) {
  Serial8250 serial(pipe_[1]);
  WriteByte(serial, 4, 0x10);
  WriteByte(serial, 0, 0xAE);
  EXPECT_NE(ReadByte(serial, 5) & 0x01, 0);
  EXPECT_EQ(ReadByte(serial, 0), 0xAE);
  EXPECT_EQ(ReadByte(serial, 5) & 0x01, 0);
}

TEST_F(SerialTest, GarbageDoesNotCrash) {
  Serial8250 serial(pipe_[1]);
  uint8_t wide[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  serial.Write(2, absl::MakeConstSpan(wide, 6));  // FCR..SCR
  serial.Read(9, absl::MakeSpan(wide, 8));        // past the registers
  EXPECT_EQ(wide[0], 0xFF);
  EXPECT_EQ(ReadByte(serial, 7), 0xFF);  // SCR took the last byte
}

}  // namespace
}  // namespace faultline::vmm
