#include "guest-drivers/runtime/boot_info.h"

#include "gtest/gtest.h"

namespace faultline::guest {
namespace {

constexpr uint64_t kLinkedEnd = 0x180000;

BootInfo ValidBootInfo() {
  BootInfo boot = {};
  boot.magic = guest_abi::kBootInfoMagic;
  boot.version = guest_abi::kBootInfoVersion;
  boot.vcpu_count = 2;
  boot.ram_bytes = 64ull << 20;
  boot.image_end = kLinkedEnd;
  return boot;
}

TEST(CheckBootInfo, AcceptsAValidBootInfo) {
  ErrorMessage error;
  EXPECT_TRUE(CheckBootInfo(ValidBootInfo(), kLinkedEnd, &error));
  EXPECT_TRUE(error.empty());
}

TEST(CheckBootInfo, RejectsWrongMagicWithBothValues) {
  BootInfo boot = ValidBootInfo();
  boot.magic = 0x1234;
  ErrorMessage error;
  EXPECT_FALSE(CheckBootInfo(boot, kLinkedEnd, &error));
  EXPECT_STREQ(error.text(),
               "boot info at 0x1000 has magic 0x1234, expected "
               "0x31544f4f42544c46");
}

TEST(CheckBootInfo, RejectsEachBadField) {
  const auto rejected = [](void (*spoil)(BootInfo&)) {
    BootInfo boot = ValidBootInfo();
    spoil(boot);
    ErrorMessage error;
    return !CheckBootInfo(boot, kLinkedEnd, &error) && !error.empty();
  };
  EXPECT_TRUE(rejected([](BootInfo& b) { b.version = 2; }));
  EXPECT_TRUE(rejected([](BootInfo& b) { b.vcpu_count = 0; }));
  EXPECT_TRUE(rejected([](BootInfo& b) { b.vcpu_count = 17; }));
  EXPECT_TRUE(rejected([](BootInfo& b) { b.ram_bytes += 1; }));
  EXPECT_TRUE(rejected([](BootInfo& b) { b.ram_bytes = 4ull << 30; }));
  EXPECT_TRUE(rejected([](BootInfo& b) { b.image_end = kLinkedEnd - 4096; }));
  EXPECT_TRUE(rejected([](BootInfo& b) { b.image_end = kLinkedEnd + 8; }));
  EXPECT_TRUE(rejected([](BootInfo& b) { b.image_end = b.ram_bytes + 4096; }));
}

}  // namespace
}  // namespace faultline::guest
