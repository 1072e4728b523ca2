#include "vmm/guest_machine.h"

#include "gtest/gtest.h"
#include "vmm/exit_codes.h"

namespace faultline::vmm {
namespace {

TEST(KernelEndReasonTest, TheLatchedStatusWins) {
  const StopReason reason =
      KernelEndReason(StopKind::kGuestReset, "the guest reset", uint8_t{3});
  EXPECT_EQ(reason.kind, StopKind::kGuestReset);
  EXPECT_EQ(reason.guest_status, 3);
  EXPECT_EQ(reason.message, "the guest reset; status 3");
  EXPECT_EQ(ExitCodeFor(reason), 3);
}

TEST(KernelEndReasonTest, WithoutALatchPowerOffIsZeroAndResetIsItsOwnCode) {
  const StopReason off =
      KernelEndReason(StopKind::kGuestPowerOff, "powered off", std::nullopt);
  EXPECT_EQ(ExitCodeFor(off), 0);
  EXPECT_EQ(off.message, "powered off without a status");
  const StopReason reset =
      KernelEndReason(StopKind::kGuestReset, "triple fault", std::nullopt);
  EXPECT_EQ(ExitCodeFor(reset), kExitGuestReset);
}

}  // namespace
}  // namespace faultline::vmm
