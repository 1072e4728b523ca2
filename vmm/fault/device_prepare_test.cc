// The fault engine's device pages asked for with no vCPU waiting (a guest
// driver's PREPARE), against the real broker: the frame is mapped before
// anything touches it, and neither an error answer nor a passed deadline
// stops the VM; each reaches the device model instead.
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vmm/fault/fault_engine_test_fixture.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

v1::Region Window() { return DeviceWindow("preparetest", 16); }

class DevicePrepareTest : public FaultEngineTest {
 protected:
  // The first event of `kind`, waiting up to `timeout` for it.
  std::optional<DevicePageEvent> WaitForEvent(DevicePageEvent::Kind kind,
                                              absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      for (const DevicePageEvent& event : DevicePages()) {
        if (event.kind == kind) return event;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return std::nullopt;
  }

  void WriteFrame(uint64_t frame, char fill) {
    v1::WriteFramesRequest write;
    write.set_pool("preparetest");
    write.set_first_frame(frame);
    write.set_data(std::string(kPage, fill));
    grpc::ClientContext context;
    v1::WriteFramesResponse response;
    ASSERT_TRUE(admin_->WriteFrames(&context, write, &response).ok());
  }

  v1::InjectionRule OnPage(uint64_t page) {
    v1::InjectionRule rule;
    rule.set_region_id(kDeviceId);
    rule.set_first_offset(page * kPage);
    rule.set_last_offset(page * kPage);
    return rule;
  }
};

TEST_F(DevicePrepareTest, APreparedPageIsMappedBeforeAnyTouch) {
  ASSERT_TRUE(StartEngine({Window()}).ok());
  WriteFrame(3, '\x5a');
  // The broker holds the answer, so the second prepare is surely asked
  // while the first is in flight (a fast answer made it a second fault).
  v1::InjectionRule slow = OnPage(3);
  slow.set_delay_us(300'000);
  Inject(slow);
  ASSERT_TRUE(engine_->PrepareDevicePage(kDeviceId, 3 * kPage).ok());
  ASSERT_TRUE(engine_->PrepareDevicePage(kDeviceId, 3 * kPage).ok())
      << "asked again while in flight: coalesced";
  const auto available =
      WaitForEvent(DevicePageEvent::Kind::kAvailable, absl::Seconds(10));
  ASSERT_TRUE(available.has_value());
  EXPECT_EQ(available->offset, 3 * kPage);
  EXPECT_EQ(available->frame, 3u);
  // Mapped already: this read is no fault.
  EXPECT_EQ(Host(kDeviceId)[3 * kPage], 0x5a);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(stats.frames, 1u);
  EXPECT_EQ(stats.faults, 1u);
  EXPECT_EQ(engine_->faults_in_flight(), 0u);
}

TEST_F(DevicePrepareTest, AnErrorAnswerReachesTheDeviceNotTheVm) {
  ASSERT_TRUE(StartEngine({Window()}).ok());
  v1::InjectionRule error = OnPage(5);
  error.mutable_error()->set_kind(v1::ERROR_KIND_DENIED);
  error.mutable_error()->set_message("prepare test");
  Inject(error);
  ASSERT_TRUE(engine_->PrepareDevicePage(kDeviceId, 5 * kPage).ok());
  const auto failed =
      WaitForEvent(DevicePageEvent::Kind::kError, absl::Seconds(10));
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->offset, 5 * kPage);
  EXPECT_EQ(failed->error_kind, v1::ERROR_KIND_DENIED);
  EXPECT_FALSE(WaitForFatal(absl::Milliseconds(200)).has_value());
  EXPECT_EQ(engine_->faults_in_flight(), 0u);
}

TEST_F(DevicePrepareTest, RetriesPastTheDeadlineGiveUpWithoutStopping) {
  RetryOptions retry;
  retry.deadline = absl::Seconds(1);
  ASSERT_TRUE(StartEngine({Window()}, retry).ok());
  v1::InjectionRule busy = OnPage(6);
  busy.mutable_retry()->set_reason(v1::RETRY_REASON_NOT_YET_AVAILABLE);
  busy.mutable_retry()->set_delay_hint_us(50'000);
  Inject(busy);  // count 0: until cleared
  ASSERT_TRUE(engine_->PrepareDevicePage(kDeviceId, 6 * kPage).ok());
  const auto pending =
      WaitForEvent(DevicePageEvent::Kind::kPending, absl::Seconds(10));
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->retry_reason, v1::RETRY_REASON_NOT_YET_AVAILABLE);
  const auto gave_up =
      WaitForEvent(DevicePageEvent::Kind::kGaveUp, absl::Seconds(10));
  ASSERT_TRUE(gave_up.has_value());
  EXPECT_EQ(gave_up->offset, 6 * kPage);
  EXPECT_FALSE(WaitForFatal(absl::Milliseconds(200)).has_value());
  EXPECT_EQ(engine_->faults_in_flight(), 0u);
}

TEST_F(DevicePrepareTest, OnlyDevicePagesInsideTheWindowAreAsked) {
  ASSERT_TRUE(StartEngine({RamRegion(4, Pattern(1)), Window()}).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(engine_->PrepareDevicePage(kRamId, 0)));
  EXPECT_TRUE(absl::IsInvalidArgument(
      engine_->PrepareDevicePage(kDeviceId, 16 * kPage)));
  EXPECT_TRUE(
      absl::IsInvalidArgument(engine_->PrepareDevicePage(kDeviceId, 100)));
  EXPECT_TRUE(absl::IsInvalidArgument(engine_->PrepareDevicePage(9, 0)));
  EXPECT_EQ(engine_->faults_in_flight(), 0u);
}

}  // namespace
}  // namespace faultline::vmm
