#include "vmm/vcpu/run_control.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "vmm/vcpu/cpuid.h"

namespace faultline::vmm {
namespace {

TEST(RunControlTest, PauseResumeAndFirstStopWins) {
  RunControl control(2);
  std::atomic<int> kicks{0};
  control.AddKicker([&] { ++kicks; });
  EXPECT_EQ(control.Describe(), "running");
  EXPECT_TRUE(control.Pause());
  EXPECT_EQ(kicks.load(), 1);
  EXPECT_EQ(control.Describe(), "paused");

  std::atomic<bool> released{false};
  std::thread vcpu([&] {
    EXPECT_TRUE(control.WaitWhilePaused());
    released = true;
  });
  EXPECT_TRUE(control.Resume());
  vcpu.join();
  EXPECT_TRUE(released.load());

  control.Stop({StopKind::kControlStop, 0, "stop requested"});
  control.Stop({StopKind::kGuestExit, 3, "later"});
  EXPECT_EQ(control.reason().kind, StopKind::kControlStop);
  EXPECT_FALSE(control.Pause());
  EXPECT_FALSE(control.WaitWhilePaused());
  EXPECT_TRUE(control.WaitForStop(absl::ZeroDuration()));
  EXPECT_EQ(kicks.load(), 2);
}

TEST(RunControlTest, StopReleasesPausedVcpus) {
  RunControl control(1);
  ASSERT_TRUE(control.Pause());
  std::thread vcpu([&] { EXPECT_FALSE(control.WaitWhilePaused()); });
  control.Stop({StopKind::kFaultDeadline, 0, "deadline"});
  vcpu.join();
}

TEST(RunControlTest, AllHaltedStops) {
  RunControl control(2);
  control.NoteHalted();
  EXPECT_FALSE(control.stopping());
  control.NoteHalted();
  EXPECT_TRUE(control.stopping());
  EXPECT_EQ(control.reason().kind, StopKind::kGuestHalted);
}

TEST(CpuidTest, SetsApicIds) {
  std::vector<kvm_cpuid_entry2> supported(2);
  supported[0].function = 1;
  supported[0].ebx = 0xAB123456;
  supported[1].function = 0xB;
  auto entries = CpuidForVcpu(supported, 5);
  EXPECT_EQ(entries[0].ebx, 0x05013456u) << "APIC id 5, 1 logical CPU";
  EXPECT_EQ(entries[1].edx, 5u);
  EXPECT_NE(entries[0].ecx & (1u << 31), 0u) << "hypervisor bit";
  EXPECT_EQ(entries[0].ecx & (1u << 24), 0u) << "no TSC deadline unless asked";
  EXPECT_EQ(entries[0].edx & (1u << 28), 0u);
}

TEST(CpuidTest, CountsVcpusAndOffersTheTscDeadlineTimer) {
  std::vector<kvm_cpuid_entry2> supported(2);
  supported[0].function = 1;
  supported[1].function = 0x1F;
  CpuidOptions options;
  options.vcpu_count = 2;
  options.tsc_deadline_timer = true;
  auto entries = CpuidForVcpu(supported, 1, options);
  EXPECT_EQ(entries[0].ebx >> 24, 1u);
  EXPECT_EQ((entries[0].ebx >> 16) & 0xFF, 2u);
  EXPECT_NE(entries[0].edx & (1u << 28), 0u) << "HTT with 2 logical CPUs";
  EXPECT_NE(entries[0].ecx & (1u << 24), 0u);
  EXPECT_EQ(entries[1].edx, 1u);
}

}  // namespace
}  // namespace faultline::vmm
