#include "vmm/vcpu/machine_check.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vmm/memory/memory_layout.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;

TEST(MachineCheckTest, CapabilitiesKeepTenBanksControlAndRecovery) {
  const uint64_t kvm_supported =
      32 | kMcgCtlPresent | kMcgSoftwareRecoveryPresent | (1ull << 27);
  absl::StatusOr<uint64_t> cap = MachineCheckCapabilities(kvm_supported);
  ASSERT_TRUE(cap.ok()) << cap.status();
  EXPECT_EQ(*cap, 10 | kMcgCtlPresent | kMcgSoftwareRecoveryPresent);
  EXPECT_EQ(MachineCheckBanks(*cap), 10u);

  cap = MachineCheckCapabilities(4 | kMcgSoftwareRecoveryPresent);
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(*cap, 4 | kMcgSoftwareRecoveryPresent);
}

TEST(MachineCheckTest, CapabilitiesNeedRecoveryAndBanks) {
  EXPECT_THAT(MachineCheckCapabilities(32 | kMcgCtlPresent).status().message(),
              HasSubstr("MCG_SER_P"));
  EXPECT_FALSE(MachineCheckCapabilities(kMcgSoftwareRecoveryPresent).ok());
}

TEST(MachineCheckTest, ActionRequiredErrorNamesThePage) {
  const kvm_x86_mce mce = ActionRequiredMemoryError(0x203456, 9);
  EXPECT_EQ(mce.addr, 0x203000u);
  EXPECT_EQ(mce.bank, 9);
  const uint64_t must = kMciStatusValid | kMciStatusUncorrected |
                        kMciStatusEnabled | kMciStatusAddressValid |
                        kMciStatusMiscValid | kMciStatusSignaled |
                        kMciStatusActionRequired;
  EXPECT_EQ(mce.status & must, must);
  EXPECT_EQ(mce.status & 0xFFFF, kMcacodDataLoad);
  EXPECT_EQ(mce.misc & 0x3F, 12u) << "4 KiB granularity";
  EXPECT_EQ((mce.misc >> 6) & 7, 2u) << "physical address mode";
  EXPECT_EQ(mce.mcg_status, kMcgStatusInProgress | kMcgStatusErrorIpValid)
      << "no RIPV: the load cannot be restarted";
}

// Sends the calling thread a SIGBUS as the kernel sends it for a poisoned
// page (a thread may queue a kernel-style si_code only to itself). It is
// handled before the call returns.
void SendMemoryErrorToSelf(int code, uint64_t address) {
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  info.si_signo = SIGBUS;
  info.si_code = code;
  info.si_addr = reinterpret_cast<void*>(address);
  ASSERT_EQ(::syscall(SYS_rt_tgsigqueueinfo, ::getpid(), ::syscall(SYS_gettid),
                      SIGBUS, &info),
            0)
      << std::strerror(errno);
}

TEST(MachineCheckTest, MemoryErrorSignalIsKeptForTheThreadItHit) {
  ASSERT_TRUE(InstallMemoryErrorSignalHandler().ok());
  std::optional<uint64_t> seen_by_vcpu;
  std::optional<uint64_t> seen_again;
  std::thread vcpu([&] {
    CatchMemoryErrorsOnThisThread();
    SendMemoryErrorToSelf(BUS_MCEERR_AR, 0x7f0000201234);
    seen_by_vcpu = TakeMemoryError();
    seen_again = TakeMemoryError();
  });
  vcpu.join();
  ASSERT_TRUE(seen_by_vcpu.has_value());
  EXPECT_EQ(*seen_by_vcpu, 0x7f0000201000u);
  EXPECT_FALSE(seen_again.has_value()) << "taking clears it";

  // An advisory error on a thread that runs no guest is ignored, and the
  // vCPU thread's record is its own.
  std::optional<uint64_t> seen_by_other;
  std::thread other([&] {
    SendMemoryErrorToSelf(BUS_MCEERR_AO, 0x7f0000202000);
    seen_by_other = TakeMemoryError();
  });
  other.join();
  EXPECT_FALSE(seen_by_other.has_value());
}

// Sixteen pages of RAM at 0x200000, and a reporter with ten banks.
class MemoryErrorReporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MemoryLayout layout;
    ASSERT_TRUE(
        layout.Add({1, "ram", RegionKind::kRam, 0x200000, 16 * 4096}).ok());
    auto memory = GuestMemory::Create(layout);
    ASSERT_TRUE(memory.ok()) << memory.status();
    memory_ = *std::move(memory);
    host_ = reinterpret_cast<uint64_t>(memory_->FindRegion(1)->host_base());
  }

  std::unique_ptr<GuestMemory> memory_;
  uint64_t host_ = 0;
  const uint64_t mcg_cap_ = 10 | kMcgCtlPresent | kMcgSoftwareRecoveryPresent;
};

TEST_F(MemoryErrorReporterTest, TranslatesTheHostPage) {
  MemoryErrorReporter enabled(memory_.get(), mcg_cap_);
  absl::StatusOr<kvm_x86_mce> mce =
      enabled.MachineCheckFor(host_ + 3 * 4096, 2);
  ASSERT_TRUE(mce.ok()) << mce.status();
  EXPECT_EQ(mce->addr, 0x203000u);
  EXPECT_EQ(mce->bank, 9) << "the last of ten banks";

  MemoryErrorReporter disabled(memory_.get(), std::nullopt);
  mce = disabled.MachineCheckFor(host_ + 3 * 4096, 2);
  EXPECT_TRUE(absl::IsFailedPrecondition(mce.status())) << mce.status();
  EXPECT_THAT(mce.status().message(), HasSubstr("vCPU 2"));
  EXPECT_THAT(mce.status().message(), HasSubstr("page 0x203000"));
  EXPECT_THAT(mce.status().message(), HasSubstr("region 'ram'"));

  mce = enabled.MachineCheckFor(0x1000, 0);
  EXPECT_TRUE(absl::IsInternal(mce.status())) << mce.status();
  EXPECT_THAT(mce.status().message(), HasSubstr("outside guest memory"));
}

// An MMIO exit into guest memory names the page by its guest-physical
// address; it must become the same machine check as the SIGBUS.
TEST_F(MemoryErrorReporterTest, TakesTheGuestPhysicalPage) {
  MemoryErrorReporter reporter(memory_.get(), mcg_cap_);
  absl::StatusOr<kvm_x86_mce> by_guest =
      reporter.MachineCheckForGuestPhysical(0x203458, 1);
  absl::StatusOr<kvm_x86_mce> by_host =
      reporter.MachineCheckFor(host_ + 3 * 4096, 1);
  ASSERT_TRUE(by_guest.ok()) << by_guest.status();
  ASSERT_TRUE(by_host.ok()) << by_host.status();
  EXPECT_EQ(by_guest->addr, 0x203000u);
  EXPECT_EQ(by_guest->addr, by_host->addr);
  EXPECT_EQ(by_guest->status, by_host->status);
  EXPECT_EQ(by_guest->bank, by_host->bank);

  by_guest = reporter.MachineCheckForGuestPhysical(0x1000, 1);
  EXPECT_TRUE(absl::IsInternal(by_guest.status())) << by_guest.status();
  EXPECT_THAT(by_guest.status().message(), HasSubstr("outside guest memory"));
}

}  // namespace
}  // namespace faultline::vmm
