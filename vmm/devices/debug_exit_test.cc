#include "vmm/devices/debug_exit.h"

#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

TEST(DebugExitTest, FirstWriteEndsTheRunWithLowByte) {
  int calls = 0;
  uint8_t status = 0;
  DebugExit exit_port([&](uint8_t value) {
    ++calls;
    status = value;
  });
  const uint8_t value[4] = {0x01, 0x02, 0x00, 0x00};
  exit_port.Write(0, absl::MakeConstSpan(value));
  exit_port.Write(0, absl::MakeConstSpan(value, 1));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(status, 0x01);
  uint8_t read[2];
  exit_port.Read(0, absl::MakeSpan(read));
  EXPECT_EQ(read[1], 0xFF);
}

}  // namespace
}  // namespace faultline::vmm
