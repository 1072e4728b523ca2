#include "vmm/devices/debug_exit.h"

#include <vector>

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

TEST(DebugExitTest, QemuIsaDebugExitDoublesAndSetsTheLowBit) {
  std::vector<uint8_t> statuses;
  DebugExit exit_port([&](uint8_t value) { statuses.push_back(value); },
                      DebugExitMode::kQemuIsaDebugExit);
  const uint8_t value[4] = {0x03, 0x00, 0x00, 0x00};  // QEMU: exit(7)
  exit_port.Write(0, absl::MakeConstSpan(value));
  const uint8_t again = 0x10;
  exit_port.Write(0, absl::MakeConstSpan(&again, 1));
  EXPECT_EQ(statuses, (std::vector<uint8_t>{7}));
  EXPECT_FALSE(exit_port.latched_status().has_value());
}

TEST(DebugExitTest, StatusLatchRemembersTheLastStatusAndEndsNothing) {
  int calls = 0;
  DebugExit latch([&](uint8_t) { ++calls; }, DebugExitMode::kStatusLatch);
  EXPECT_FALSE(latch.latched_status().has_value());
  const uint8_t first = 3, second = 0;
  latch.Write(0, absl::MakeConstSpan(&first, 1));
  EXPECT_EQ(latch.latched_status(), 3);
  latch.Write(0, absl::MakeConstSpan(&second, 1));
  latch.Write(1, absl::MakeConstSpan(&first, 1));  // not the port itself
  EXPECT_EQ(latch.latched_status(), 0);
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace faultline::vmm
