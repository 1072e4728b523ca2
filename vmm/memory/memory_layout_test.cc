#include "vmm/memory/memory_layout.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/guest_abi.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;
namespace abi = ::faultline::guest_abi;

RegionSpec Ram(uint32_t id, uint64_t base, uint64_t size) {
  return RegionSpec{id, "ram", RegionKind::kRam, base, size};
}

RegionSpec Window(uint32_t id, uint64_t base, uint64_t size) {
  return RegionSpec{id, "pcimem", RegionKind::kDeviceWindow, base, size};
}

TEST(MemoryLayoutTest, AcceptsRamAndWindowPerAbi) {
  MemoryLayout layout;
  EXPECT_TRUE(layout.Add(Ram(1, 0, 64 << 20)).ok());
  EXPECT_TRUE(
      layout.Add(Window(2, abi::kPciMemWindowBarAddress, 1 << 20)).ok());
  ASSERT_NE(layout.Find(0x1234), nullptr);
  EXPECT_EQ(layout.Find(0x1234)->id, 1u);
  EXPECT_EQ(layout.Find(abi::kPciMemWindowBarAddress + 5)->id, 2u);
  EXPECT_EQ(layout.Find(64 << 20), nullptr);
  EXPECT_EQ(layout.FindById(2)->kind, RegionKind::kDeviceWindow);
  EXPECT_TRUE(layout.Contains(RegionKind::kRam, 0x1000, 0x1000));
  EXPECT_FALSE(layout.Contains(RegionKind::kRam, (64 << 20) - 8, 16));
  EXPECT_FALSE(
      layout.Contains(RegionKind::kRam, abi::kPciMemWindowBarAddress, 1));
}

TEST(MemoryLayoutTest, RefusesMisalignedAndEmpty) {
  MemoryLayout layout;
  EXPECT_THAT(std::string(layout.Add(Ram(1, 0x800, 0x1000)).message()),
              HasSubstr("page-aligned"));
  EXPECT_THAT(std::string(layout.Add(Ram(1, 0, 0x1800)).message()),
              HasSubstr("page-aligned"));
  EXPECT_THAT(std::string(layout.Add(Ram(1, 0, 0)).message()),
              HasSubstr("empty"));
  EXPECT_TRUE(layout.regions().empty());
}

TEST(MemoryLayoutTest, RefusesOverlapsAndDuplicateIds) {
  MemoryLayout layout;
  ASSERT_TRUE(layout.Add(Ram(1, 0, 0x10000)).ok());
  EXPECT_THAT(std::string(layout.Add(Ram(2, 0xF000, 0x2000)).message()),
              HasSubstr("overlaps"));
  EXPECT_THAT(std::string(layout.Add(Ram(1, 0x20000, 0x1000)).message()),
              HasSubstr("reuses the id"));
  EXPECT_TRUE(layout.Add(Ram(2, 0x10000, 0x1000)).ok());
}

TEST(MemoryLayoutTest, RefusesRamInPciHoleAndMisplacedWindow) {
  MemoryLayout layout;
  EXPECT_THAT(
      std::string(layout.Add(Ram(1, 0, abi::kMaxRamBytes + 0x1000)).message()),
      HasSubstr("PCI hole"));
  EXPECT_THAT(std::string(layout.Add(Window(2, 0x100000, 0x1000)).message()),
              HasSubstr("device window"));
  EXPECT_FALSE(layout
                   .Add(Window(2, abi::kPciMemWindowBarAddress,
                               abi::kMaxPciMemWindowBytes + 0x1000))
                   .ok());
}

}  // namespace
}  // namespace faultline::vmm
