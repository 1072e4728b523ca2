#include "vmm/loader/linux_loader.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vmm/loader/boot_params.h"
#include "vmm/loader/bzimage.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;

// Debian's 6.12 bzImage, from @testhost_kernel (tools/setup unpacks it).
std::string RealBzImage() {
  const char* runfiles = std::getenv("TEST_SRCDIR");
  const std::string path = std::string(runfiles != nullptr ? runfiles : ".") +
                           "/testhost_kernel/boot/vmlinuz-6.12.117+deb12-amd64";
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

template <typename T>
T Get(const uint8_t* bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes + offset, sizeof(value));
  return value;
}

template <typename T>
void Set(std::string& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(value));
}

MemoryLayout Ram(uint64_t bytes) {
  MemoryLayout layout;
  EXPECT_TRUE(layout.Add({1, "ram", RegionKind::kRam, 0, bytes}).ok());
  return layout;
}

struct Recorder {
  std::map<uint64_t, std::string> pages;  // empty: zero page
  PageSink Sink() {
    return [this](uint64_t address, const uint8_t* page) {
      if (pages.count(address) != 0) return absl::AlreadyExistsError("twice");
      pages[address] =
          page == nullptr
              ? std::string()
              : std::string(reinterpret_cast<const char*>(page), 4096);
      return absl::OkStatus();
    };
  }
};

class LinuxLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bytes_ = RealBzImage();
    ASSERT_GT(bytes_.size(), 1u << 20) << "run tools/setup: no test kernel";
  }
  std::string bytes_;
};

TEST_F(LinuxLoaderTest, ParsesDebiansHeader) {
  auto image = ParseBzImage(bytes_);
  ASSERT_TRUE(image.ok()) << image.status();
  const SetupHeader& header = image->header;
  EXPECT_EQ(header.version, 0x020F) << "protocol 2.15";
  EXPECT_EQ(header.xloadflags & kXlfKernel64, kXlfKernel64);
  EXPECT_EQ(header.kernel_alignment, 0x200000u);
  EXPECT_EQ(header.init_size, 0x37EE000u);
  EXPECT_EQ(header.pref_address, 0x1000000u);
  EXPECT_EQ(header.end_offset, 0x202u + 0x6A);
  EXPECT_EQ(image->kernel_offset, (header.setup_sects + 1u) * 512u);
  // Loaded at 1 MiB, it decompresses at pref_address (16 MiB).
  EXPECT_EQ(DecompressAddress(header), 0x1000000u);
}

TEST_F(LinuxLoaderTest, LoadsKernelInitrdAndBootParams) {
  auto image = ParseBzImage(bytes_);
  ASSERT_TRUE(image.ok());
  const MemoryLayout layout = Ram(128 << 20);
  KernelModule initrd{"initrd.cpio", std::string(3 << 20, 'i')};
  LinuxBootConfig config;
  config.layout = &layout;
  config.vcpu_count = 2;
  config.cmdline = "console=ttyS0 reboot=t";
  Recorder recorder;
  auto loaded = LoadLinux(*image, &initrd, config, recorder.Sink());
  ASSERT_TRUE(loaded.ok()) << loaded.status();

  // vCPU 0 enters startup_64 with the boot protocol's selectors.
  const EntryState& entry = loaded->boot_vcpu;
  EXPECT_EQ(entry.rip, 0x100200u);
  EXPECT_EQ(entry.rsi, kLinuxBootParamsAddress);
  EXPECT_EQ(entry.segments.code_selector, 0x10);
  EXPECT_EQ(entry.segments.data_selector, 0x18);
  EXPECT_EQ(entry.cr0, 0x80000011u);
  EXPECT_EQ(entry.cr4, 0x20u);
  EXPECT_EQ(entry.efer, 0x500u);
  EXPECT_EQ(loaded->pages_installed, recorder.pages.size());

  // The kernel's first page is the file's first protected-mode page.
  ASSERT_EQ(recorder.pages.count(0x100000), 1u);
  EXPECT_EQ(recorder.pages[0x100000],
            bytes_.substr(image->kernel_offset, 4096));
  // The initrd sits at the top of RAM, 1 MiB aligned.
  const uint64_t initrd_at = ((128ull << 20) - (3ull << 20)) & ~0xFFFFFull;
  EXPECT_EQ(recorder.pages[initrd_at], std::string(4096, 'i'));

  const std::string& zero = recorder.pages[kLinuxBootParamsAddress];
  const auto* params = reinterpret_cast<const uint8_t*>(zero.data());
  EXPECT_EQ(Get<uint32_t>(params, 0x202), kHdrSMagic) << "header copied";
  EXPECT_EQ(params[kBootParamsTypeOfLoader], 0xFF);
  EXPECT_NE(params[kBootParamsLoadflags] & kCanUseHeap, 0);
  EXPECT_EQ(Get<uint32_t>(params, kBootParamsCmdLinePtr), kLinuxCmdlineAddress);
  EXPECT_EQ(Get<uint32_t>(params, kBootParamsRamdiskImage), initrd_at);
  EXPECT_EQ(Get<uint32_t>(params, kBootParamsRamdiskSize), 3u << 20);
  EXPECT_EQ(Get<uint64_t>(params, kBootParamsAcpiRsdp), 0xE0000u);
  EXPECT_EQ(params[kBootParamsE820Entries], 4);  // RAM, reserved, RAM, KVM
  EXPECT_EQ(Get<uint64_t>(params, kBootParamsE820Table + 2 * 20 + 8),
            (128ull << 20) - 0x100000);
  EXPECT_EQ(recorder.pages[kLinuxCmdlineAddress].substr(0, 23),
            std::string("console=ttyS0 reboot=t\0", 23));
  EXPECT_EQ(recorder.pages[0xE0000].substr(0, 8), "RSD PTR ");
  // Every other RAM page is left to the broker.
  EXPECT_EQ(recorder.pages.count(32 << 20), 0u) << "decompression area";
  EXPECT_EQ(recorder.pages.count(0x8000), 0u);
}

TEST_F(LinuxLoaderTest, TooLittleRamIsAClearErrorAndNothingIsInstalled) {
  auto image = ParseBzImage(bytes_);
  ASSERT_TRUE(image.ok());
  const MemoryLayout small = Ram(64 << 20);  // init_size alone needs 72 MiB
  LinuxBootConfig config;
  config.layout = &small;
  Recorder recorder;
  auto loaded = LoadLinux(*image, nullptr, config, recorder.Sink());
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("--memory="));
  EXPECT_TRUE(recorder.pages.empty());

  const MemoryLayout tight = Ram(74 << 20);
  config.layout = &tight;
  KernelModule big{"big", std::string(8 << 20, 'x')};
  loaded = LoadLinux(*image, &big, config, recorder.Sink());
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("initrd"));
  EXPECT_TRUE(recorder.pages.empty());

  const MemoryLayout enough = Ram(128 << 20);
  config.layout = &enough;
  config.cmdline = std::string(5000, 'c');
  EXPECT_FALSE(LoadLinux(*image, nullptr, config, recorder.Sink()).ok());
  EXPECT_TRUE(recorder.pages.empty());
}

TEST_F(LinuxLoaderTest, CorruptHeadersAreRefusedWithTheReason) {
  struct Case {
    const char* name;
    std::string bytes;
    const char* reason;
  };
  std::string no_magic = bytes_;
  Set<uint32_t>(no_magic, 0x202, 0x12345678);
  std::string no_boot_flag = bytes_;
  Set<uint16_t>(no_boot_flag, 0x1FE, 0);
  std::string old = bytes_;
  Set<uint16_t>(old, 0x206, 0x0208);
  std::string no_64bit = bytes_;
  Set<uint16_t>(no_64bit, 0x236, 0);
  std::string zimage = bytes_;
  zimage[0x211] = 0;
  std::string bad_alignment = bytes_;
  Set<uint32_t>(bad_alignment, 0x230, 0x3000);
  std::string header_overrun = bytes_;
  header_overrun[0x201] = static_cast<char>(0xF0);
  std::string no_init_size = bytes_;
  Set<uint32_t>(no_init_size, 0x260, 0);
  const Case cases[] = {
      {"empty", "", "too short"},
      {"truncated header", bytes_.substr(0, 0x200), "too short"},
      {"header only", bytes_.substr(0, 0x300), "truncated"},
      {"no HdrS", no_magic, "not a Linux bzImage"},
      {"no boot flag", no_boot_flag, "not a Linux bzImage"},
      {"protocol 2.08", old, "too old"},
      {"no 64-bit entry", no_64bit, "64-bit entry"},
      {"zImage", zimage, "zImage"},
      {"alignment", bad_alignment, "kernel_alignment"},
      {"header end", header_overrun, "setup header ends"},
      {"init_size", no_init_size, "init_size"},
      {"an ELF",
       std::string("\x7F"
                   "ELF",
                   4) +
           std::string(0x400, '\0'),
       "not a Linux bzImage"},
  };
  for (const Case& test : cases) {
    auto image = ParseBzImage(test.bytes);
    ASSERT_FALSE(image.ok()) << test.name;
    EXPECT_THAT(std::string(image.status().message()), HasSubstr(test.reason))
        << test.name;
  }
}

}  // namespace
}  // namespace faultline::vmm
