#include "vmm/loader/e820.h"

#include <vector>

#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

MemoryLayout Layout(uint64_t ram_bytes, bool window = false) {
  MemoryLayout layout;
  EXPECT_TRUE(layout.Add({1, "ram", RegionKind::kRam, 0, ram_bytes}).ok());
  if (window) {
    EXPECT_TRUE(layout
                    .Add({2, "pcimem", RegionKind::kDeviceWindow,
                          0x100000000ull, 1 << 20})
                    .ok());
  }
  return layout;
}

TEST(E820Test, ThePcMapAroundRam) {
  auto map = BuildE820(Layout(128 << 20, true));
  ASSERT_TRUE(map.ok()) << map.status();
  const std::vector<E820Entry> want = {
      {0, 0x9FC00, E820Type::kRam},
      // The EBDA, legacy video and ROMs, the BIOS area with ACPI: merged.
      {0x9FC00, 0x100000 - 0x9FC00, E820Type::kReserved},
      {0x100000, (128 << 20) - 0x100000, E820Type::kRam},
      // The PCI hole and the device window are gaps; KVM's pages are not.
      {0xFFFBC000, 0x4000, E820Type::kReserved},
  };
  EXPECT_EQ(*map, want);
}

TEST(E820Test, ReservedRangesCutRamAndNeighboursMerge) {
  const ReservedRange reserved[] = {{0x2000, 0x1000}, {0x3000, 0x1000}};
  auto map = BuildE820(Layout(2 << 20), reserved);
  ASSERT_TRUE(map.ok()) << map.status();
  const std::vector<E820Entry> want = {
      {0, 0x2000, E820Type::kRam},
      {0x2000, 0x2000, E820Type::kReserved},
      {0x4000, (2 << 20) - 0x4000, E820Type::kRam},
  };
  EXPECT_EQ(*map, want);
}

TEST(E820Test, RefusesOverlappingOrEmptyReservations) {
  const ReservedRange overlapping[] = {{0x2000, 0x2000}, {0x3000, 0x1000}};
  EXPECT_FALSE(BuildE820(Layout(2 << 20), overlapping).ok());
  const ReservedRange empty[] = {{0x2000, 0}};
  EXPECT_FALSE(BuildE820(Layout(2 << 20), empty).ok());
}

}  // namespace
}  // namespace faultline::vmm
