#include "vmm/devices/fw_cfg.h"

#include <string>

#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

class FwCfgTest : public ::testing::Test {
 protected:
  void Select(uint16_t key) {
    uint8_t bytes[2] = {static_cast<uint8_t>(key),
                        static_cast<uint8_t>(key >> 8)};
    fw_cfg_.Write(0, absl::MakeConstSpan(bytes));
  }
  std::string ReadBytes(size_t count) {
    std::string out;
    for (size_t i = 0; i < count; ++i) {
      uint8_t byte = 0;
      fw_cfg_.Read(1, absl::MakeSpan(&byte, 1));
      out.push_back(static_cast<char>(byte));
    }
    return out;
  }
  FwCfg fw_cfg_{3, 256ull << 20};
};

TEST_F(FwCfgTest, SignatureAndInterface) {
  Select(FwCfg::kSignatureKey);
  EXPECT_EQ(ReadBytes(4), "QEMU");
  EXPECT_EQ(ReadBytes(2), std::string(2, '\0')) << "past the end reads zero";
  Select(FwCfg::kIdKey);
  EXPECT_EQ(ReadBytes(4), std::string("\x01\x00\x00\x00", 4));
}

TEST_F(FwCfgTest, CpuCountAndRamSize) {
  Select(FwCfg::kCpuCountKey);
  EXPECT_EQ(ReadBytes(2), std::string("\x03\x00", 2));
  Select(FwCfg::kRamSizeKey);
  EXPECT_EQ(ReadBytes(8), std::string("\x00\x00\x00\x10\x00\x00\x00\x00", 8));
  // Selecting again rewinds.
  Select(FwCfg::kCpuCountKey);
  uint8_t wide[2] = {};
  fw_cfg_.Read(1, absl::MakeSpan(wide));
  EXPECT_EQ(wide[0], 3);
  EXPECT_EQ(wide[1], 0);
}

TEST_F(FwCfgTest, UnknownKeysReadZeroAndWritesChangeNothing) {
  Select(0x4242);
  EXPECT_EQ(ReadBytes(3), std::string(3, '\0'));
  const uint8_t junk = 0x77;
  fw_cfg_.Write(1, absl::MakeConstSpan(&junk, 1));
  Select(FwCfg::kFileDirectoryKey);
  EXPECT_EQ(ReadBytes(4), std::string(4, '\0')) << "no files";
  uint8_t selector = 0;
  fw_cfg_.Read(0, absl::MakeSpan(&selector, 1));
  EXPECT_EQ(selector, 0xFF);
}

}  // namespace
}  // namespace faultline::vmm
