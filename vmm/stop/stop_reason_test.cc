#include "vmm/stop/stop_reason.h"

#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

TEST(StopErrorTest, CarriesItsKindAndKeepsCodeAndMessage) {
  const absl::Status refused = StopError(
      StopKind::kBrokerRefused, absl::AlreadyExistsError("name in use"));
  EXPECT_TRUE(absl::IsAlreadyExists(refused));
  EXPECT_EQ(refused.message(), "name in use");
  EXPECT_EQ(StopKindOf(refused), StopKind::kBrokerRefused);

  const StopReason reason = StopReasonOf(refused);
  EXPECT_EQ(reason.kind, StopKind::kBrokerRefused);
  EXPECT_EQ(reason.message, "ALREADY_EXISTS: name in use");
  EXPECT_FALSE(reason.page.has_value());
}

TEST(StopErrorTest, UntypedErrorsAreTheVmmsOwn) {
  EXPECT_EQ(StopKindOf(absl::InternalError("mmap failed")),
            StopKind::kVmmError);
  EXPECT_TRUE(StopError(StopKind::kBadPayload, absl::OkStatus()).ok());
}

TEST(StopKindNameTest, EveryKindHasItsOwnName) {
  for (StopKind kind : kAllStopKinds) {
    for (StopKind other : kAllStopKinds) {
      if (kind != other) {
        EXPECT_NE(StopKindName(kind), StopKindName(other));
      }
    }
    EXPECT_EQ(StopKindOf(StopError(kind, absl::UnknownError("x"))), kind);
  }
  EXPECT_EQ(StopKindName(StopKind::kBrokerErrorAnswer), "broker_error_answer");
  // The guest report's "end" and the kernel e2e cases use these words.
  EXPECT_EQ(StopKindName(StopKind::kGuestPowerOff), "power_off");
  EXPECT_EQ(StopKindName(StopKind::kGuestReset), "reset");
  EXPECT_EQ(StopKindName(StopKind::kGuestExit), "guest_exit");
  EXPECT_EQ(StopKindName(StopKind::kControlStop), "stopped");
}

}  // namespace
}  // namespace faultline::vmm
