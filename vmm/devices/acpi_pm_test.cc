#include "vmm/devices/acpi_pm.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proto/pc_machine.h"

namespace faultline::vmm {
namespace {

namespace pc = ::faultline::pc_machine;

class AcpiPmTest : public ::testing::Test {
 protected:
  AcpiPm pm_{
      [this](const std::string& how) { ends_.push_back("off: " + how); },
      [this](const std::string& how) { ends_.push_back("reset: " + how); }};
  void WriteByte(uint64_t offset, uint8_t value) {
    pm_.Write(offset, absl::MakeConstSpan(&value, 1));
  }
  std::vector<std::string> ends_;
};

TEST_F(AcpiPmTest, S5WithSleepEnablePowersOff) {
  // What Linux writes for \_S5 = 5: (5 << 2) | SLP_EN.
  WriteByte(0, (pc::kAcpiS5SleepType << pc::kAcpiSleepTypeShift) |
                   pc::kAcpiSleepEnable);
  ASSERT_EQ(ends_.size(), 1u);
  EXPECT_EQ(ends_[0], "off: the guest powered off (ACPI S5)");
  WriteByte(2, pc::kAcpiResetValue);  // the run has ended already
  EXPECT_EQ(ends_.size(), 1u);
}

TEST_F(AcpiPmTest, ResetValueResets) {
  WriteByte(2, pc::kAcpiResetValue);
  ASSERT_EQ(ends_.size(), 1u);
  EXPECT_EQ(ends_[0].rfind("reset: ", 0), 0u);
}

TEST_F(AcpiPmTest, OtherValuesAreIgnoredAndCounted) {
  WriteByte(0, pc::kAcpiS5SleepType << pc::kAcpiSleepTypeShift);  // no SLP_EN
  WriteByte(0, (3 << pc::kAcpiSleepTypeShift) | pc::kAcpiSleepEnable);  // S3
  WriteByte(2, 0x06);
  WriteByte(1, 0xFF);  // clearing the status is fine
  EXPECT_TRUE(ends_.empty());
  EXPECT_EQ(pm_.ignored_writes(), 3u);
  uint8_t status = 0xAA;
  pm_.Read(1, absl::MakeSpan(&status, 1));
  EXPECT_EQ(status, 0);  // no wake
}

}  // namespace
}  // namespace faultline::vmm
