#include "vmm/memory/guest_memory.h"

#include "gtest/gtest.h"
#include "proto/guest_abi.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

TEST(GuestMemoryTest, TranslatesBothWays) {
  MemoryLayout layout;
  ASSERT_TRUE(layout.Add({1, "ram", RegionKind::kRam, 0, 1 << 20}).ok());
  ASSERT_TRUE(layout
                  .Add({2, "pcimem", RegionKind::kDeviceWindow,
                        abi::kPciMemWindowBarAddress, 64 << 10})
                  .ok());
  auto memory = GuestMemory::Create(layout);
  ASSERT_TRUE(memory.ok()) << memory.status();
  auto host = (*memory)->HostAddress(0x3008, 8);
  ASSERT_TRUE(host.ok());
  const MappedRegion* ram = (*memory)->FindRegion(1);
  ASSERT_NE(ram, nullptr);
  EXPECT_EQ(*host, ram->host_base() + 0x3008);
  **host = 7;  // Unregistered anonymous memory: an ordinary page fault.

  HostPage page = (*memory)->FindHostPage(reinterpret_cast<uint64_t>(*host));
  ASSERT_EQ(page.region, ram);
  EXPECT_EQ(page.offset, 0x3000u);

  auto window =
      (*memory)->HostAddress(abi::kPciMemWindowBarAddress + 0x2000, 0x1000);
  ASSERT_TRUE(window.ok());
  EXPECT_EQ((*memory)
                ->FindHostPage(reinterpret_cast<uint64_t>(*window))
                .region->spec.id,
            2u);
  EXPECT_FALSE((*memory)->HostAddress((1 << 20) - 4, 8).ok());
  EXPECT_EQ((*memory)->FindHostPage(0x10).region, nullptr);

  EXPECT_EQ((*memory)->FindGuestRegion(0), ram);
  EXPECT_EQ((*memory)->FindGuestRegion((1 << 20) - 1), ram);
  EXPECT_EQ((*memory)->FindGuestRegion(1 << 20), nullptr);
  EXPECT_EQ((*memory)->FindGuestRegion(abi::kPciMemWindowBarAddress)->spec.id,
            2u);
}

}  // namespace
}  // namespace faultline::vmm
