#include "vmm/control/control_protocol.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;

TEST(ParseControlCommandTest, KnownAndUnknown) {
  EXPECT_EQ(*ParseControlCommand(" pause\r"), ControlCommand::kPause);
  EXPECT_EQ(*ParseControlCommand("status"), ControlCommand::kStatus);
  EXPECT_FALSE(ParseControlCommand("reboot").ok());
  EXPECT_FALSE(ParseControlCommand("").ok());
}

// A VM as the control commands see it: records what was done to it.
struct FakeVm {
  bool stopping = false;
  bool paused = false;
  int stops = 0;

  VmControls Controls() {
    VmControls controls;
    controls.pause = [this] {
      if (stopping) return false;
      paused = true;
      return true;
    };
    controls.resume = [this] {
      if (stopping) return false;
      paused = false;
      return true;
    };
    controls.stop = [this] {
      ++stops;
      stopping = true;
    };
    controls.status = [this] {
      VmStatus status;
      status.state = stopping ? "stopping: why" : paused ? "paused" : "running";
      status.vcpus = 2;
      status.faults = 130;
      status.in_flight = 1;
      status.pages = 96;
      status.retries = 4;
      return status;
    };
    return controls;
  }
};

TEST(ControlReplyTest, CommandsActOnTheVmAndSayWhatTheyDid) {
  FakeVm vm;
  const VmControls controls = vm.Controls();
  EXPECT_EQ(ControlReply(ControlCommand::kPause, controls), "ok paused");
  EXPECT_TRUE(vm.paused);
  EXPECT_EQ(ControlReply(ControlCommand::kStatus, controls),
            "paused vcpus=2 faults=130 in_flight=1 pages=96 zeros=0 frames=0 "
            "retries=4");
  EXPECT_EQ(ControlReply(ControlCommand::kResume, controls), "ok running");
  EXPECT_FALSE(vm.paused);
  EXPECT_EQ(ControlReply(ControlCommand::kStop, controls), "ok stopping");
  EXPECT_EQ(vm.stops, 1);
  EXPECT_EQ(ControlReply(ControlCommand::kPause, controls),
            "error: the VM is stopping");
  EXPECT_EQ(ControlReply(ControlCommand::kResume, controls),
            "error: the VM is stopping");
  EXPECT_THAT(ControlReply(ControlCommand::kStatus, controls),
              HasSubstr("stopping: why vcpus=2"));
}

}  // namespace
}  // namespace faultline::vmm
