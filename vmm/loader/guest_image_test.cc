#include "vmm/loader/guest_image.h"

#include <elf.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
}

std::string WriteFile(const std::string& name, const std::string& bytes) {
  const std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string RealBzImagePath() {
  const char* runfiles = std::getenv("TEST_SRCDIR");
  return std::string(runfiles != nullptr ? runfiles : ".") +
         "/testhost_kernel/boot/vmlinuz-6.12.117+deb12-amd64";
}

// A flat multiboot kernel (a.out kludge) at 1 MiB: header, then code.
std::string FlatMultiboot() {
  const uint32_t flags = 1u << 16;
  const uint32_t words[] = {
      0x1BADB002, flags,    static_cast<uint32_t>(-(0x1BADB002u + flags)),
      0x100000,   0x100000, 0,
      0x101000,   0x100020};
  std::string bytes(reinterpret_cast<const char*>(words), sizeof(words));
  return bytes + std::string(64, '\x90');
}

TEST(GuestImageTest, TellsTheKernelFormatsApart) {
  GuestImageSource linux_source;
  linux_source.kernel_path = RealBzImagePath();
  linux_source.initrds = {WriteFile("initrd", std::string(8192, 'i'))};
  auto linux_image = ReadGuestImage(linux_source, 128 << 20, 2);
  ASSERT_TRUE(linux_image.ok()) << linux_image.status();
  EXPECT_EQ(linux_image->format, BootFormat::kLinux);
  EXPECT_EQ(linux_image->cmdline, kDefaultLinuxCmdline);
  ASSERT_EQ(linux_image->modules.size(), 1u);

  GuestImageSource multiboot_source;
  multiboot_source.kernel_path = WriteFile("mb.bin", FlatMultiboot());
  multiboot_source.cmdline = "status=3";
  multiboot_source.initrds = {linux_source.initrds[0] + " arg=1"};
  auto multiboot = ReadGuestImage(multiboot_source, 16 << 20, 1);
  ASSERT_TRUE(multiboot.ok()) << multiboot.status();
  EXPECT_EQ(multiboot->format, BootFormat::kMultiboot);
  EXPECT_EQ(multiboot->cmdline, "status=3");
  EXPECT_EQ(multiboot->modules[0].name, linux_source.initrds[0] + " arg=1");

  GuestImageSource neither;
  neither.kernel_path = WriteFile("junk", std::string(20000, 'j'));
  auto junk = ReadGuestImage(neither, 16 << 20, 1);
  ASSERT_FALSE(junk.ok());
  EXPECT_THAT(std::string(junk.status().message()),
              HasSubstr("neither a Linux bzImage"));
}

TEST(GuestImageTest, KernelsThatDoNotFitAreRefusedBeforeAnything) {
  GuestImageSource source;
  source.kernel_path = RealBzImagePath();
  auto small = ReadGuestImage(source, 32 << 20, 1);
  ASSERT_FALSE(small.ok());
  EXPECT_THAT(std::string(small.status().message()), HasSubstr("--memory="));
  source.initrds = {"/nonexistent/initrd"};
  EXPECT_TRUE(absl::IsNotFound(ReadGuestImage(source, 128 << 20, 1).status()));
  source.initrds = {RealBzImagePath(), RealBzImagePath()};
  EXPECT_THAT(
      std::string(ReadGuestImage(source, 128 << 20, 1).status().message()),
      HasSubstr("one initrd"));
}

TEST(GuestImageTest, KernelVcpusButTheFirstWaitForStartup) {
  LoadedImage kernel;
  kernel.format = BootFormat::kLinux;
  kernel.boot_vcpu.rip = 0x100200;
  ASSERT_TRUE(VcpuEntry(kernel, 0).has_value());
  EXPECT_EQ(VcpuEntry(kernel, 0)->rip, 0x100200u);
  EXPECT_FALSE(VcpuEntry(kernel, 1).has_value());
  LoadedImage payload;
  payload.payload_entry = 0x100000;
  ASSERT_TRUE(VcpuEntry(payload, 3).has_value());
  EXPECT_EQ(VcpuEntry(payload, 3)->rsi, 3u);
}

}  // namespace
}  // namespace faultline::vmm
