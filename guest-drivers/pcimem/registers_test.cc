#include "guest-drivers/pcimem/registers.h"

#include "gtest/gtest.h"
#include "proto/guest_abi.h"

namespace faultline::guest {
namespace {

PciMemRegisterValues GoodValues() {
  PciMemRegisterValues values;
  values.magic = guest_abi::kPciMemMagic;
  values.version = 1;
  values.frame_bytes = 4096;
  values.frame_count = 256;
  return values;
}

TEST(CheckRegisterValues, AcceptsAGoodBlock) {
  ErrorMessage error;
  EXPECT_TRUE(CheckRegisterValues(GoodValues(), 256 * 4096, &error));
  PciMemRegisterValues version2 = GoodValues();
  version2.version = guest_abi::kPciMemRegisterVersion;
  EXPECT_TRUE(CheckRegisterValues(version2, 256 * 4096, &error))
      << "version 2 keeps the version 1 registers";
}

TEST(CheckRegisterValues, RejectsBadMagicWithBothValues) {
  PciMemRegisterValues values = GoodValues();
  values.magic = 0;
  ErrorMessage error;
  EXPECT_FALSE(CheckRegisterValues(values, 256 * 4096, &error));
  EXPECT_STREQ(error.text(),
               "register block magic 0x00000000, expected 0x4d544c46");
}

TEST(CheckRegisterValues, RejectsEachBadField) {
  ErrorMessage error;
  PciMemRegisterValues values = GoodValues();
  values.version = 0;
  EXPECT_FALSE(CheckRegisterValues(values, 256 * 4096, &error));
  values = GoodValues();
  values.frame_bytes = 8192;
  EXPECT_FALSE(CheckRegisterValues(values, 256 * 4096, &error));
  values = GoodValues();
  values.frame_count = 0;
  EXPECT_FALSE(CheckRegisterValues(values, 256 * 4096, &error));
  values = GoodValues();
  EXPECT_FALSE(CheckRegisterValues(values, 255 * 4096, &error));
}

TEST(FrameSignature, SpellsGuestAboveTheFrameNumber) {
  EXPECT_EQ(FrameSignature(0x2a), 0x475545535400002aull);
  EXPECT_EQ(kFrameSignatureWord, 511u);
}

}  // namespace
}  // namespace faultline::guest
