#include "vmm/kernel_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;

VmmFlags Kernel() {
  VmmFlags flags;
  flags.kernel = "/boot/vmlinuz";
  flags.broker = "unix:/tmp/b.sock";
  flags.vm_name = "vm";
  flags.memory = "128M";
  return flags;
}

TEST(KernelConfigTest, KernelInitrdsAndCommandLine) {
  VmmFlags flags = Kernel();
  flags.initrd = "/a.cpio,/mod.bin x=1 y=2";
  flags.cmdline = "console=ttyS0 quiet";
  auto config = ParseConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->kernel_path, "/boot/vmlinuz");
  EXPECT_TRUE(config->guest_path.empty());
  EXPECT_EQ(config->initrds,
            (std::vector<std::string>{"/a.cpio", "/mod.bin x=1 y=2"}));
  EXPECT_EQ(config->kernel_cmdline, "console=ttyS0 quiet");
}

TEST(KernelConfigTest, PatternRamDoesNotTouchAKernelsCommandLine) {
  VmmFlags flags = Kernel();
  flags.ram_source = "pattern:7";
  auto config = ParseConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->guest_args, "");
  EXPECT_TRUE(config->ram_source.has_pattern());
}

TEST(KernelConfigTest, OneGuestAndTheFlagsThatGoWithIt) {
  VmmFlags both = Kernel();
  both.guest = "payload.elf";
  EXPECT_THAT(std::string(ParseConfig(both).status().message()),
              HasSubstr("exactly one"));
  VmmFlags none = Kernel();
  none.kernel.clear();
  EXPECT_THAT(std::string(ParseConfig(none).status().message()),
              HasSubstr("exactly one"));
  VmmFlags payload_initrd = Kernel();
  payload_initrd.kernel.clear();
  payload_initrd.guest = "payload.elf";
  payload_initrd.initrd = "/a.cpio";
  EXPECT_THAT(std::string(ParseConfig(payload_initrd).status().message()),
              HasSubstr("go with --kernel"));
  VmmFlags kernel_args = Kernel();
  kernel_args.guest_args = "pages=1";
  EXPECT_THAT(std::string(ParseConfig(kernel_args).status().message()),
              HasSubstr("--cmdline"));
  VmmFlags spaced = Kernel();
  spaced.initrd = "/a.cpio, /b.cpio";
  EXPECT_FALSE(ParseConfig(spaced).ok());
}

TEST(KernelConfigTest, SerialInput) {
  VmmConfig config;
  VmmFlags flags = Kernel();
  ASSERT_TRUE(ParseGuestFlags(flags, &config, true).ok());
  EXPECT_EQ(config.serial_input.kind, SerialInputConfig::Kind::kStdin)
      << "auto reads a terminal";
  config = VmmConfig();
  ASSERT_TRUE(ParseGuestFlags(flags, &config, false).ok());
  EXPECT_EQ(config.serial_input.kind, SerialInputConfig::Kind::kNone)
      << "auto leaves a script's stdin alone";
  flags.serial_input = "unix:/run/console.sock";
  config = VmmConfig();
  ASSERT_TRUE(ParseGuestFlags(flags, &config, false).ok());
  EXPECT_EQ(config.serial_input.kind, SerialInputConfig::Kind::kUnixSocket);
  EXPECT_EQ(config.serial_input.socket_path, "/run/console.sock");
  flags.serial_input = "unix:";
  EXPECT_FALSE(ParseGuestFlags(flags, &config, false).ok());
  flags.serial_input = "tty";
  EXPECT_THAT(std::string(ParseGuestFlags(flags, &config, false).message()),
              HasSubstr("--serial_input"));
}

}  // namespace
}  // namespace faultline::vmm
