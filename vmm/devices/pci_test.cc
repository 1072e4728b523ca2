#include "vmm/devices/pci.h"

#include "gtest/gtest.h"
#include "proto/guest_abi.h"
#include "vmm/devices/pcimem_device.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

class PciTest : public ::testing::Test {
 protected:
  PciTest() : bridge_(MakeHostBridge()), pcimem_(MakePciMemFunction(1 << 20)) {
    EXPECT_TRUE(space_.AddDevice(0, &bridge_).ok());
    EXPECT_TRUE(space_.AddDevice(abi::kPciMemDeviceSlot, &pcimem_).ok());
  }

  void Select(uint32_t slot, uint32_t reg, uint32_t function = 0) {
    const uint32_t address = 0x80000000u | (slot << 11) | (function << 8) | reg;
    uint8_t bytes[4];
    StoreLittleEndian(address, absl::MakeSpan(bytes));
    space_.Write(0, absl::MakeConstSpan(bytes));
  }
  uint32_t ReadConfig(uint32_t slot, uint32_t reg) {
    Select(slot, reg & 0xFC);
    uint8_t bytes[4];
    space_.Read(4, absl::MakeSpan(bytes));
    return static_cast<uint32_t>(LoadLittleEndian(absl::MakeConstSpan(bytes)));
  }
  void WriteConfig(uint32_t slot, uint32_t reg, uint32_t value) {
    Select(slot, reg & 0xFC);
    uint8_t bytes[4];
    StoreLittleEndian(value, absl::MakeSpan(bytes));
    space_.Write(4, absl::MakeConstSpan(bytes));
  }

  PciConfigSpace space_;
  PciFunction bridge_;
  PciFunction pcimem_;
};

TEST_F(PciTest, IdentifiesDevices) {
  EXPECT_EQ(ReadConfig(0, 0), abi::kHostBridgeVendorId |
                                  (uint32_t{abi::kHostBridgeDeviceId} << 16));
  EXPECT_EQ(ReadConfig(1, 0),
            abi::kPciMemVendorId | (uint32_t{abi::kPciMemDeviceId} << 16));
  EXPECT_EQ(ReadConfig(0, 8) >> 8, 0x060000u);
  EXPECT_EQ(ReadConfig(5, 0), 0xFFFFFFFFu);  // empty slot
  Select(1, 0, 3);                           // function 3: nothing
  uint8_t bytes[4];
  space_.Read(4, absl::MakeSpan(bytes));
  EXPECT_EQ(bytes[0], 0xFF);
}

TEST_F(PciTest, BarsReadFixedAddressesAndSize) {
  EXPECT_EQ(ReadConfig(1, 0x10), abi::kPciMemRegistersBarAddress);
  EXPECT_EQ(ReadConfig(1, 0x18),
            static_cast<uint32_t>(abi::kPciMemWindowBarAddress) | 0xCu);
  EXPECT_EQ(ReadConfig(1, 0x1C), abi::kPciMemWindowBarAddress >> 32);

  WriteConfig(1, 0x10, 0xFFFFFFFF);
  EXPECT_EQ(ReadConfig(1, 0x10),
            ~(abi::kPciMemRegistersBarBytes - 1) & 0xFFFFFFF0u);
  WriteConfig(1, 0x18, 0xFFFFFFFF);
  WriteConfig(1, 0x1C, 0xFFFFFFFF);
  EXPECT_EQ(ReadConfig(1, 0x18), 0xFFF00000u | 0xCu);
  EXPECT_EQ(ReadConfig(1, 0x1C), 0xFFFFFFFFu);

  // Moving is ignored: the fixed address reads back.
  WriteConfig(1, 0x10, 0xD0000000);
  EXPECT_EQ(ReadConfig(1, 0x10), abi::kPciMemRegistersBarAddress);
  WriteConfig(1, 0x18, 0);
  WriteConfig(1, 0x1C, 0);
  EXPECT_EQ(ReadConfig(1, 0x1C), abi::kPciMemWindowBarAddress >> 32);
  EXPECT_EQ(ReadConfig(1, 0x14), 0u);  // unused BAR1
}

TEST_F(PciTest, CommandRegisterAndGarbage) {
  WriteConfig(1, 0x04, 0xFFFFFFFF);
  EXPECT_EQ(ReadConfig(1, 0x04) & 0x2, 0x2u);
  WriteConfig(1, 0x00, 0x12345678);  // read-only IDs
  EXPECT_EQ(ReadConfig(1, 0) & 0xFFFF, abi::kPciMemVendorId);
  for (uint32_t reg = 0; reg < 256; reg += 4) {
    WriteConfig(1, reg, 0xDEADBEEF);
    ReadConfig(1, reg);
  }
  uint8_t odd[3] = {1, 2, 3};
  space_.Write(1, absl::MakeConstSpan(odd, 3));  // partial address write
  space_.Write(7, absl::MakeConstSpan(odd, 3));  // straddles the end
  space_.Read(6, absl::MakeSpan(odd, 2));
}

TEST(PciMemRegistersTest, RegistersPerAbi) {
  PciMemRegisters registers(256);
  uint8_t bytes[8];
  registers.Read(abi::kPciMemRegMagic, absl::MakeSpan(bytes, 4));
  EXPECT_EQ(LoadLittleEndian(absl::MakeConstSpan(bytes, 4)), abi::kPciMemMagic);
  registers.Read(abi::kPciMemRegFrameCount, absl::MakeSpan(bytes, 8));
  EXPECT_EQ(LoadLittleEndian(absl::MakeConstSpan(bytes, 8)), 256u);
  registers.Read(abi::kPciMemRegFrameBytes, absl::MakeSpan(bytes, 4));
  EXPECT_EQ(LoadLittleEndian(absl::MakeConstSpan(bytes, 4)), 4096u);
  StoreLittleEndian(0xCAFEF00D, absl::MakeSpan(bytes, 4));
  registers.Write(abi::kPciMemRegScratch, absl::MakeConstSpan(bytes, 4));
  registers.Read(abi::kPciMemRegScratch, absl::MakeSpan(bytes, 4));
  EXPECT_EQ(LoadLittleEndian(absl::MakeConstSpan(bytes, 4)), 0xCAFEF00Du);
  registers.Write(abi::kPciMemRegMagic, absl::MakeConstSpan(bytes, 4));
  registers.Read(abi::kPciMemRegMagic, absl::MakeSpan(bytes, 4));
  EXPECT_EQ(LoadLittleEndian(absl::MakeConstSpan(bytes, 4)), abi::kPciMemMagic);
  EXPECT_EQ(registers.ignored_writes(), 1u);
  registers.Read(0x800, absl::MakeSpan(bytes, 4));
  EXPECT_EQ(LoadLittleEndian(absl::MakeConstSpan(bytes, 4)), 0u);
}

}  // namespace
}  // namespace faultline::vmm
