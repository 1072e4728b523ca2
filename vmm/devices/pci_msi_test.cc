#include "vmm/devices/pci_msi.h"

#include "gtest/gtest.h"
#include "proto/guest_abi.h"
#include "vmm/devices/device_fakes.h"
#include "vmm/devices/pci.h"
#include "vmm/devices/pcimem_device.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

constexpr uint32_t kCap = abi::kPciMemMsiCapability;

// The memory device with MSI, reached through configuration space as a
// guest reaches it.
class PciMsiTest : public ::testing::Test {
 protected:
  PciMsiTest()
      : msi_(kCap, &sink_), function_(MakePciMemFunction(1 << 20, &msi_)) {
    EXPECT_TRUE(space_.AddDevice(1, &function_).ok());
  }

  void Select(uint32_t reg) {
    uint8_t bytes[4];
    StoreLittleEndian(0x80000000u | (1u << 11) | (reg & 0xFC),
                      absl::MakeSpan(bytes));
    space_.Write(0, absl::MakeConstSpan(bytes));
  }
  uint32_t ReadConfig(uint32_t reg) {
    Select(reg);
    uint8_t bytes[4];
    space_.Read(4, absl::MakeSpan(bytes));
    return static_cast<uint32_t>(LoadLittleEndian(absl::MakeConstSpan(bytes)));
  }
  void WriteConfig(uint32_t reg, uint32_t value, size_t size = 4) {
    Select(reg);
    uint8_t bytes[4];
    StoreLittleEndian(value, absl::MakeSpan(bytes, size));
    space_.Write(4 + (reg & 3), absl::MakeConstSpan(bytes, size));
  }
  // Programs address and data the way Linux does, then enables.
  void Enable(uint32_t data = 0x41) {
    WriteConfig(kCap + 4, 0xFEE00000);
    WriteConfig(kCap + 8, 0);
    WriteConfig(kCap + 12, data, 2);
    WriteConfig(kCap + 2, 0x0001, 2);
    WriteConfig(0x04, 0x0006, 2);  // memory space and bus master
  }

  RecordingMsiSink sink_;
  PciMsiCapability msi_;
  PciFunction function_;
  PciConfigSpace space_;
};

TEST_F(PciMsiTest, ListedAsTheOnlyCapability) {
  EXPECT_NE(ReadConfig(0x04) & (0x10u << 16), 0u) << "capability list bit";
  EXPECT_EQ(ReadConfig(0x34), kCap);
  const uint32_t header = ReadConfig(kCap);
  EXPECT_EQ(header & 0xFF, 0x05u) << "MSI";
  EXPECT_EQ((header >> 8) & 0xFF, 0u) << "last in the list";
  const uint32_t control = header >> 16;
  EXPECT_EQ(control & 0x80, 0x80u) << "64-bit address";
  EXPECT_EQ(control & 0x100, 0x100u) << "per-vector masking";
  EXPECT_EQ(control & 0x0E, 0u) << "one vector";
  EXPECT_EQ(ReadConfig(0x3C) & 0xFF00, 0u) << "no interrupt pin";
}

TEST_F(PciMsiTest, OnlyWritableBitsChange) {
  for (uint32_t reg = kCap; reg < kCap + PciMsiCapability::kBytes; reg += 4) {
    WriteConfig(reg, 0xFFFFFFFF);
  }
  EXPECT_EQ(ReadConfig(kCap), 0x01810005u) << "id and control keep their bits";
  EXPECT_EQ(ReadConfig(kCap + 4), 0xFFFFFFFCu) << "address is dword aligned";
  EXPECT_EQ(ReadConfig(kCap + 8), 0xFFFFFFFFu);
  EXPECT_EQ(ReadConfig(kCap + 12), 0x0000FFFFu) << "16-bit data";
  EXPECT_EQ(ReadConfig(kCap + 16), 1u) << "one mask bit";
  EXPECT_EQ(ReadConfig(kCap + 20), 0u) << "pending is read-only";
}

TEST_F(PciMsiTest, SendsOnlyWhenEnabledWithBusMastering) {
  msi_.Signal();
  EXPECT_EQ(sink_.count(), 0u);
  WriteConfig(kCap + 4, 0xFEE01000);
  WriteConfig(kCap + 12, 0x4021, 2);
  WriteConfig(kCap + 2, 1, 2);
  msi_.Signal();
  EXPECT_EQ(sink_.count(), 0u) << "no bus mastering";
  WriteConfig(0x04, 0x0004, 2);
  msi_.Signal();
  ASSERT_EQ(sink_.count(), 1u);
  EXPECT_EQ(sink_.messages()[0], std::make_pair(uint64_t{0xFEE01000}, 0x4021u));
  EXPECT_EQ(msi_.counts().dropped_while_disabled, 2u);
  EXPECT_EQ(msi_.counts().sent, 1u);
}

TEST_F(PciMsiTest, MaskedMessagesWaitForUnmask) {
  Enable();
  WriteConfig(kCap + 16, 1);
  msi_.Signal();
  msi_.Signal();
  EXPECT_EQ(sink_.count(), 0u);
  EXPECT_EQ(ReadConfig(kCap + 20), 1u) << "pending while masked";
  WriteConfig(kCap + 16, 0);
  EXPECT_EQ(sink_.count(), 1u) << "one message for what was held";
  EXPECT_EQ(ReadConfig(kCap + 20), 0u);
  EXPECT_EQ(msi_.counts().held_while_masked, 2u);
}

TEST_F(PciMsiTest, ARefusedMessageIsCountedNotFatal) {
  Enable();
  sink_.set_fail(true);
  msi_.Signal();
  msi_.Signal();
  EXPECT_EQ(msi_.counts().failed, 2u);
  sink_.set_fail(false);
  msi_.Signal();
  EXPECT_EQ(msi_.counts().sent, 1u);
}

TEST_F(PciMsiTest, WritesStraddlingTheCapabilityStopAtItsEnd) {
  WriteConfig(kCap + PciMsiCapability::kBytes - 2, 0xFFFFFFFF);
  EXPECT_EQ(ReadConfig(kCap + 20), 0u);
  EXPECT_EQ(ReadConfig(kCap + PciMsiCapability::kBytes), 0u);
}

TEST(PciMsiWithoutCapabilityTest, PlainFunctionsListNone) {
  PciFunction bridge = MakeHostBridge();
  EXPECT_EQ(bridge.ReadDword(1) & (0x10u << 16), 0u);
  EXPECT_EQ(bridge.ReadDword(13), 0u);
  PciFunction pcimem = MakePciMemFunction(1 << 20);
  EXPECT_EQ(pcimem.ReadDword(13), 0u);
  EXPECT_EQ(pcimem.ReadDword(kCap / 4), 0u);
}

}  // namespace
}  // namespace faultline::vmm
