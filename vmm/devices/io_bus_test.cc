#include "vmm/devices/io_bus.h"

#include <vector>

#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

class RecordingHandler : public IoHandler {
 public:
  void Read(uint64_t offset, absl::Span<uint8_t> data) override {
    last_offset = offset;
    StoreLittleEndian(0x1122334455667788ull, data);
  }
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override {
    last_offset = offset;
    last_value = LoadLittleEndian(data);
  }
  uint64_t last_offset = ~0ull;
  uint64_t last_value = 0;
};

TEST(IoBusTest, RoutesRelativeOffsets) {
  IoBus bus("pio");
  RecordingHandler handler;
  ASSERT_TRUE(bus.Add(0x100, 8, &handler, "dev").ok());
  uint8_t data[2];
  bus.Read(0x103, absl::MakeSpan(data));
  EXPECT_EQ(handler.last_offset, 3u);
  EXPECT_EQ(data[0], 0x88);
  const uint8_t value[4] = {1, 2, 3, 4};
  bus.Write(0x104, absl::MakeConstSpan(value));
  EXPECT_EQ(handler.last_value, 0x04030201u);
}

TEST(IoBusTest, UnmappedReadsAllOnesAndWritesAreDropped) {
  IoBus bus("pio");
  RecordingHandler handler;
  ASSERT_TRUE(bus.Add(0x100, 8, &handler, "dev").ok());
  uint8_t data[4] = {};
  bus.Read(0x200, absl::MakeSpan(data));
  EXPECT_EQ(data[0], 0xFF);
  EXPECT_EQ(data[3], 0xFF);
  // An access running past the end of a device is unmapped as a whole.
  bus.Read(0x106, absl::MakeSpan(data));
  EXPECT_EQ(data[0], 0xFF);
  const uint8_t value[1] = {9};
  bus.Write(0x300, absl::MakeConstSpan(value));
  EXPECT_EQ(bus.unhandled_accesses(), 3u);
}

// A guest sweeping unmapped space gets all-ones everywhere; every access is
// counted, but only the first few addresses reach the log.
TEST(IoBusTest, UnmappedSweepIsCountedButLogsABoundedNumberOfLines) {
  IoBus bus("mmio");
  uint8_t data[8] = {};
  for (uint64_t address = 0; address < 0x1000; address += 8) {
    bus.Read(0xD0000000 + address, absl::MakeSpan(data));
    bus.Read(0xD0000000 + address, absl::MakeSpan(data));
  }
  EXPECT_EQ(bus.unhandled_accesses(), 1024u);
  EXPECT_EQ(bus.logged_unmapped_addresses(), IoBus::kLoggedUnmappedAddresses);
}

TEST(IoBusTest, RefusesOverlapsAndEmptyRanges) {
  IoBus bus("mmio");
  RecordingHandler handler;
  ASSERT_TRUE(bus.Add(0x1000, 0x1000, &handler, "a").ok());
  EXPECT_FALSE(bus.Add(0x1FFF, 2, &handler, "b").ok());
  EXPECT_FALSE(bus.Add(0x5000, 0, &handler, "c").ok());
  EXPECT_FALSE(bus.Add(~0ull, 2, &handler, "d").ok());
}

}  // namespace
}  // namespace faultline::vmm
