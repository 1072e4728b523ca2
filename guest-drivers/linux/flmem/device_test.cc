#include "guest-drivers/linux/flmem/device.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "gtest/gtest.h"

namespace faultline::flmem {
namespace {

std::string TempFolder() {
  std::string pattern = ::testing::TempDir() + "/flmem_device_XXXXXX";
  EXPECT_NE(::mkdtemp(pattern.data()), nullptr);
  return pattern;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(MappingTest, MapsPagesOfAFileShared) {
  const std::string path = TempFolder() + "/device";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 8 * 4096), 0);
  std::string error;
  auto mapping = Mapping::Open(path, 2, 3, &error);
  ASSERT_NE(mapping, nullptr) << error;
  EXPECT_EQ(mapping->pages(), 3u);
  mapping->Page(1)[4] = 0x1234;
  uint64_t word = 0;
  ASSERT_EQ(::pread(fd, &word, 8, 3 * 4096 + 4 * 8), 8);
  EXPECT_EQ(word, 0x1234u) << "page 1 of the mapping is page 3 of the file";
  ::close(fd);
}

TEST(MappingTest, SaysWhyItCannotOpen) {
  std::string error;
  EXPECT_EQ(Mapping::Open("/nonexistent/device", 0, 1, &error), nullptr);
  EXPECT_EQ(error,
            "cannot open /nonexistent/device: No such file or directory");
}

TEST(SysfsTest, FolderIsNamedAfterTheNode) {
  EXPECT_EQ(SysfsFolder("/dev/faultline-mem3"),
            "/sys/class/misc/faultline-mem3");
  EXPECT_EQ(SysfsFolder("faultline-mem0"), "/sys/class/misc/faultline-mem0");
}

TEST(SysfsTest, ReadsAttributesAndReasonFolders) {
  const std::string folder = TempFolder();
  WriteFile(folder + "/faults", "12\n");
  WriteFile(folder + "/mode", "events\n");
  WriteFile(folder + "/uevent", "MAJOR=10\n");  // the driver core's, skipped
  ASSERT_EQ(::mkdir((folder + "/retries_by_reason").c_str(), 0700), 0);
  WriteFile(folder + "/retries_by_reason/revoked", "3\n");
  ASSERT_EQ(::mkdir((folder + "/power").c_str(), 0700), 0);
  WriteFile(folder + "/power/control", "auto\n");
  ASSERT_EQ(::symlink("/", (folder + "/subsystem").c_str()), 0);
  const auto attributes = ReadAttributes(folder);
  ASSERT_EQ(attributes.size(), 3u);
  EXPECT_EQ(attributes[0],
            std::make_pair(std::string("faults"), std::string("12")));
  EXPECT_EQ(attributes[1],
            std::make_pair(std::string("mode"), std::string("events")));
  EXPECT_EQ(attributes[2],
            std::make_pair(std::string("retries_by_reason/revoked"),
                           std::string("3")));
  EXPECT_TRUE(ReadAttributes(folder + "/missing").empty());
}

}  // namespace
}  // namespace faultline::flmem
