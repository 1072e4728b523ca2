#include "vmm/config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;

VmmFlags Good() {
  VmmFlags flags;
  flags.guest = "payload.elf";
  flags.broker = "unix:/tmp/faultline/broker.sock";
  flags.vm_name = "vm1";
  return flags;
}

std::string Error(const VmmFlags& flags) {
  auto config = ParseConfig(flags);
  EXPECT_FALSE(config.ok());
  return std::string(config.status().message());
}

TEST(ParseSizeTest, Forms) {
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("64K"), 64u << 10);
  EXPECT_EQ(*ParseSize("64m"), 64u << 20);
  EXPECT_EQ(*ParseSize("1G"), 1u << 30);
  EXPECT_FALSE(ParseSize("").ok());
  EXPECT_FALSE(ParseSize("G").ok());
  EXPECT_FALSE(ParseSize("-4K").ok());
  EXPECT_FALSE(ParseSize("12X").ok());
  EXPECT_FALSE(ParseSize("99999999999999999999").ok());
  EXPECT_FALSE(ParseSize("18446744073709551615G").ok());
}

TEST(ParseConfigTest, Defaults) {
  auto config = ParseConfig(Good());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->ram_bytes, 64u << 20);
  EXPECT_TRUE(config->ram_source.has_zero());
  EXPECT_EQ(config->pcimem_bytes, 0u);
  EXPECT_EQ(config->fault_deadline, absl::Seconds(30));
  EXPECT_TRUE(config->staging_auto);
  EXPECT_TRUE(config->machine_check_on_error);
  EXPECT_FALSE(config->preload_ram);
}

TEST(ParseConfigTest, PrefetchIsTheFormatsUnlessGiven) {
  auto config = ParseConfig(Good());
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->prefetch_pages.has_value());
  EXPECT_FALSE(config->prefetch_adaptive);
  VmmFlags adaptive = Good();
  adaptive.prefetch = "adaptive";
  EXPECT_TRUE(ParseConfig(adaptive)->prefetch_adaptive);
  EXPECT_FALSE(ParseConfig(adaptive)->prefetch_pages.has_value());
  VmmFlags flags = Good();
  flags.prefetch = "0";
  EXPECT_EQ(ParseConfig(flags)->prefetch_pages, 0u);
  EXPECT_FALSE(ParseConfig(flags)->prefetch_adaptive);
  flags.prefetch = "64";
  EXPECT_EQ(ParseConfig(flags)->prefetch_pages, 64u);
  for (const char* bad : {"65", "-1", "adaptiv", "7 pages"}) {
    flags.prefetch = bad;
    EXPECT_THAT(Error(flags), HasSubstr("--prefetch")) << bad;
  }
}

TEST(ParseConfigTest, BackgroundFillAndWorkingSets) {
  auto config = ParseConfig(Good());
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->background_fill);
  EXPECT_EQ(config->background_fill_rate, 20000u);
  EXPECT_TRUE(config->record_working_set_path.empty());
  VmmFlags flags = Good();
  flags.background_fill = "on";
  flags.background_fill_rate = 500;
  flags.record_working_set = "/tmp/ws-new";
  flags.replay_working_set = "/tmp/ws-old";
  config = ParseConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->background_fill);
  EXPECT_EQ(config->background_fill_rate, 500u);
  EXPECT_EQ(config->record_working_set_path, "/tmp/ws-new");
  EXPECT_EQ(config->replay_working_set_path, "/tmp/ws-old");
  flags.replay_working_set = flags.record_working_set;
  EXPECT_THAT(Error(flags), HasSubstr("--record_working_set"));
  flags = Good();
  flags.background_fill = "yes";
  EXPECT_THAT(Error(flags), HasSubstr("--background_fill"));
  flags = Good();
  flags.background_fill_rate = 0;
  EXPECT_THAT(Error(flags), HasSubstr("--background_fill_rate"));
}

TEST(ParseConfigTest, PreloadRamIsPassedOn) {
  VmmFlags flags = Good();
  flags.preload_ram = true;
  auto config = ParseConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->preload_ram);
}

TEST(ParseConfigTest, PatternAppendsSeedToGuestArgs) {
  VmmFlags flags = Good();
  flags.ram_source = "pattern:0x2a";
  flags.guest_args = "pages=100";
  auto config = ParseConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->ram_source.pattern().seed(), 42u);
  EXPECT_EQ(config->guest_args, "pages=100 pattern_seed=42");
}

TEST(ParseConfigTest, OtherSourcesAndDevice) {
  VmmFlags flags = Good();
  flags.ram_source = "store:warm";
  flags.pcimem = "1M";
  flags.pcimem_policy = "first_touch";
  flags.pcimem_sharing = "shared";
  auto config = ParseConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->ram_source.store().store(), "warm");
  EXPECT_EQ(config->pcimem_source.frame_count(), 256u);
  EXPECT_EQ(config->pcimem_source.policy(), v1::FRAME_POLICY_FIRST_TOUCH);
  EXPECT_EQ(config->pcimem_source.sharing(), v1::SHARING_SHARED);
  flags.ram_source = "image:/srv/disk.img";
  flags.pcimem_frames = 16;
  config = ParseConfig(flags);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->ram_source.image().path(), "/srv/disk.img");
  EXPECT_EQ(config->pcimem_source.frame_count(), 16u);
}

TEST(ParseConfigTest, ClearErrors) {
  VmmFlags flags = Good();
  flags.guest = "";
  EXPECT_THAT(Error(flags), HasSubstr("--guest"));
  flags = Good();
  flags.memory = "1M";
  EXPECT_THAT(Error(flags), HasSubstr("--memory"));
  flags.memory = "5000";
  EXPECT_THAT(Error(flags), HasSubstr("multiple of 4096"));
  flags.memory = "4G";
  EXPECT_THAT(Error(flags), HasSubstr("PCI hole"));
  flags = Good();
  flags.vcpus = 0;
  EXPECT_THAT(Error(flags), HasSubstr("--vcpus"));
  flags.vcpus = 17;
  EXPECT_THAT(Error(flags), HasSubstr("--vcpus"));
  flags = Good();
  flags.broker = "";
  EXPECT_THAT(Error(flags), HasSubstr("--broker"));
  flags.broker = "localhost";
  EXPECT_THAT(Error(flags), HasSubstr("HOST:PORT"));
  flags.broker = "localhost:99999";
  EXPECT_THAT(Error(flags), HasSubstr("HOST:PORT"));
  flags = Good();
  flags.ram_source = "pattern:abc";
  EXPECT_THAT(Error(flags), HasSubstr("not a number"));
  flags.ram_source = "disk:x";
  EXPECT_THAT(Error(flags), HasSubstr("--ram_source"));
  flags.ram_source = "image:";
  EXPECT_THAT(Error(flags), HasSubstr("needs a path"));
  flags = Good();
  flags.pcimem = "3M";
  EXPECT_THAT(Error(flags), HasSubstr("power of two"));
  flags.pcimem = "8G";
  EXPECT_THAT(Error(flags), HasSubstr("--pcimem"));
  flags = Good();
  flags.pcimem_policy = "random";
  EXPECT_THAT(Error(flags), HasSubstr("--pcimem_policy"));
  flags = Good();
  flags.pcimem_sharing = "public";
  EXPECT_THAT(Error(flags), HasSubstr("--pcimem_sharing"));
  flags = Good();
  flags.fault_deadline = absl::ZeroDuration();
  EXPECT_THAT(Error(flags), HasSubstr("--fault_deadline"));
  flags = Good();
  flags.retry_budget = -1;
  EXPECT_THAT(Error(flags), HasSubstr("--retry_budget"));
  flags = Good();
  flags.staging = "on";
  EXPECT_THAT(Error(flags), HasSubstr("--staging"));
  flags.staging = "off";
  EXPECT_FALSE(ParseConfig(flags)->staging_auto);
  flags.fault_ring = "yes";
  EXPECT_THAT(Error(flags), HasSubstr("--fault_ring"));
  flags.fault_ring = "on";
  EXPECT_TRUE(ParseConfig(flags)->fault_ring);
  flags.on_error = "ignore";
  EXPECT_THAT(Error(flags), HasSubstr("--on_error"));
  flags.on_error = "stop";
  EXPECT_FALSE(ParseConfig(flags)->machine_check_on_error);
  flags = Good();
  flags.guest_args = std::string(1020, 'a');
  flags.ram_source = "pattern:7";
  EXPECT_THAT(Error(flags), HasSubstr("--guest_args"));
}

}  // namespace
}  // namespace faultline::vmm
