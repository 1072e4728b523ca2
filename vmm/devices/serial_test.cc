#include "vmm/devices/serial.h"

#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "vmm/devices/device_fakes.h"

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

TEST_F(SerialTest, TransmitterEmptyInterruptAsLinuxTestsIt) {
  FakeIrqSink sink;
  IrqLine irq(&sink, 4);
  Serial8250 serial(pipe_[1], &irq);
  EXPECT_EQ(ReadByte(serial, 2) & 0x0F, 0x01) << "nothing pending";
  // Turning THRI on with the transmitter empty makes it pending (Linux's
  // UART_BUG_THRE check turns it off and on and expects it again).
  WriteByte(serial, 1, 0x02);
  EXPECT_TRUE(sink.Level(4));
  EXPECT_EQ(ReadByte(serial, 2) & 0x0F, 0x02);
  EXPECT_FALSE(sink.Level(4)) << "reading IIR acknowledges THRE";
  EXPECT_EQ(ReadByte(serial, 2) & 0x0F, 0x01);
  WriteByte(serial, 1, 0x00);
  WriteByte(serial, 1, 0x02);
  EXPECT_EQ(ReadByte(serial, 2) & 0x0F, 0x02);
}

TEST_F(SerialTest, EveryByteSentGivesAnEdge) {
  FakeIrqSink sink;
  IrqLine irq(&sink, 4);
  Serial8250 serial(pipe_[1], &irq);
  WriteByte(serial, 0, 'a');  // polled: no interrupt, not user output
  EXPECT_EQ(sink.Edges(4), 0);
  EXPECT_FALSE(serial.first_interrupt_driven_output().has_value());
  WriteByte(serial, 1, 0x02);
  const int edges = sink.Edges(4);
  for (char c : std::string("ok\n")) WriteByte(serial, 0, c);
  EXPECT_EQ(sink.Edges(4), edges + 3);
  EXPECT_TRUE(sink.Level(4));
  EXPECT_TRUE(serial.first_interrupt_driven_output().has_value());
  WriteByte(serial, 1, 0x00);  // the driver stops transmitting
  EXPECT_FALSE(sink.Level(4));
  EXPECT_EQ(Drain(4), "aok\n");
}

TEST_F(SerialTest, InputReachesTheGuestWithItsInterrupt) {
  FakeIrqSink sink;
  IrqLine irq(&sink, 4);
  Serial8250 serial(pipe_[1], &irq);
  WriteByte(serial, 1, 0x01);  // received-data interrupt
  const std::string line = "ls\n";
  EXPECT_EQ(serial.QueueInput(absl::MakeConstSpan(
                reinterpret_cast<const uint8_t*>(line.data()), line.size())),
            3u);
  EXPECT_TRUE(sink.Level(4));
  EXPECT_EQ(ReadByte(serial, 2) & 0x0F, 0x04);
  std::string got;
  while (ReadByte(serial, 5) & 0x01) got.push_back(ReadByte(serial, 0));
  EXPECT_EQ(got, line);
  EXPECT_FALSE(sink.Level(4));
  EXPECT_EQ(ReadByte(serial, 0), 0) << "an empty FIFO reads zero";
}

TEST_F(SerialTest, TheReceiveFifoIsBounded) {
  Serial8250 serial(pipe_[1]);
  const std::string many(Serial8250::kReceiveFifoBytes + 10, 'x');
  EXPECT_EQ(serial.QueueInput(absl::MakeConstSpan(
                reinterpret_cast<const uint8_t*>(many.data()), many.size())),
            Serial8250::kReceiveFifoBytes);
  EXPECT_FALSE(serial.WaitForInputRoom(absl::Milliseconds(1)));
  ReadByte(serial, 0);
  EXPECT_TRUE(serial.WaitForInputRoom(absl::Milliseconds(1)));
  WriteByte(serial, 2, 0x03);  // FCR: enable and clear the receive FIFO
  EXPECT_EQ(ReadByte(serial, 5) & 0x01, 0);
  EXPECT_EQ(ReadByte(serial, 2) & 0xC0, 0xC0) << "FIFOs enabled: a 16550A";
}

}  // namespace
}  // namespace faultline::vmm
