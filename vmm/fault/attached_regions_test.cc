#include "vmm/fault/attached_regions.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/guest_abi.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<GuestMemory> RamAndWindow() {
  MemoryLayout layout;
  EXPECT_TRUE(layout.Add({1, "ram", RegionKind::kRam, 0, 2 << 20}).ok());
  EXPECT_TRUE(layout
                  .Add({2, "pcimem", RegionKind::kDeviceWindow,
                        guest_abi::kPciMemWindowBarAddress, 64 << 10})
                  .ok());
  auto memory = GuestMemory::Create(layout);
  EXPECT_TRUE(memory.ok());
  return memory.ok() ? *std::move(memory) : nullptr;
}

TEST(AttachedRegionsTest, ComeFromTheLayoutAndTheSources) {
  std::unique_ptr<GuestMemory> memory = RamAndWindow();
  ASSERT_NE(memory, nullptr);
  RegionSources sources;
  sources[1].mutable_pattern()->set_seed(7);
  sources[2].mutable_device()->set_pool("pool");
  absl::StatusOr<std::vector<v1::Region>> regions =
      AttachedRegions(*memory, sources);
  ASSERT_TRUE(regions.ok()) << regions.status();
  ASSERT_EQ(regions->size(), 2u);
  const v1::Region& ram = (*regions)[0];
  EXPECT_EQ(ram.region_id(), 1u);
  EXPECT_EQ(ram.name(), "ram");
  EXPECT_EQ(ram.kind(), v1::REGION_KIND_RAM);
  EXPECT_EQ(ram.size_bytes(), 2u << 20);
  EXPECT_EQ(ram.page_size(), 4096u);
  EXPECT_EQ(ram.source().pattern().seed(), 7u);
  const v1::Region& window = (*regions)[1];
  EXPECT_EQ(window.kind(), v1::REGION_KIND_DEVICE_MEMORY);
  EXPECT_EQ(window.guest_physical_base(), guest_abi::kPciMemWindowBarAddress);
  EXPECT_EQ(window.source().device().pool(), "pool");
}

TEST(AttachedRegionsTest, EveryRegionHasOneSource) {
  std::unique_ptr<GuestMemory> memory = RamAndWindow();
  ASSERT_NE(memory, nullptr);
  RegionSources sources;
  sources[1].mutable_zero();
  EXPECT_THAT(std::string(AttachedRegions(*memory, sources).status().message()),
              HasSubstr("region 2 'pcimem' has no source"));
  sources[2].mutable_device();
  sources[3].mutable_zero();
  EXPECT_FALSE(AttachedRegions(*memory, sources).ok());
}

}  // namespace
}  // namespace faultline::vmm
