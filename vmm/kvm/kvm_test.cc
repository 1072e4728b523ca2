#include "vmm/kvm/kvm.h"

#include <unistd.h>

#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vmm/kvm/cpuid_buffer.h"
#include "vmm/kvm/irqchip.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;

TEST(KvmTest, MissingDeviceNamesTheTestHost) {
  auto kvm = Kvm::Open("/nonexistent/kvm");
  ASSERT_FALSE(kvm.ok());
  EXPECT_THAT(std::string(kvm.status().message()),
              HasSubstr("integration/testhost"));
}

TEST(KvmTest, NotAKvmDeviceIsRefused) {
  auto kvm = Kvm::Open("/dev/null");
  EXPECT_FALSE(kvm.ok());
}

TEST(CpuidBufferTest, UsesTheCLayout) {
  EXPECT_EQ(_IOC_SIZE(kKvmGetSupportedCpuid), 8u);
  EXPECT_EQ(_IOC_NR(kKvmGetSupportedCpuid), 0x05u);
  EXPECT_EQ(_IOC_SIZE(kKvmSetCpuid2), 8u);
  std::vector<kvm_cpuid_entry2> entries(2);
  entries[1].function = 7;
  CpuidBuffer buffer(entries);
  EXPECT_EQ(buffer.entry_count(), 2u);
  auto* raw = static_cast<uint8_t*>(buffer.data());
  kvm_cpuid_entry2 second;
  std::memcpy(&second, raw + 8 + sizeof(kvm_cpuid_entry2), sizeof(second));
  EXPECT_EQ(second.function, 7u);
  EXPECT_EQ(buffer.Entries()[1].function, 7u);
}

// Runs only where /dev/kvm exists (the nested test host).
TEST(KvmTest, OpensRealDeviceWhenPresent) {
  if (::access(kDefaultKvmPath, R_OK | W_OK) != 0) {
    GTEST_SKIP() << "no /dev/kvm here";
  }
  auto kvm = Kvm::Open();
  ASSERT_TRUE(kvm.ok()) << kvm.status();
  auto cpuid = (*kvm)->SupportedCpuid();
  ASSERT_TRUE(cpuid.ok()) << cpuid.status();
  EXPECT_FALSE(cpuid->empty());
  auto vm = (*kvm)->CreateVm();
  ASSERT_TRUE(vm.ok()) << vm.status();
  auto vcpu = (*vm)->CreateVcpu(0);
  ASSERT_TRUE(vcpu.ok()) << vcpu.status();
  EXPECT_TRUE((*vcpu)->SetCpuid(*cpuid).ok());
  auto again = (*kvm)->SupportedCpuid();
  EXPECT_TRUE(again.ok()) << again.status();
}

// The machine kernel guests get: irqchip, PIT and identity map before the
// vCPUs, then interrupt lines raised and lowered.
TEST(KvmTest, BuildsThePcInterruptControllersWhenPresent) {
  if (::access(kDefaultKvmPath, R_OK | W_OK) != 0) {
    GTEST_SKIP() << "no /dev/kvm here";
  }
  auto kvm = Kvm::Open();
  ASSERT_TRUE(kvm.ok()) << kvm.status();
  auto vm = (*kvm)->CreateVm();
  ASSERT_TRUE(vm.ok()) << vm.status();
  EXPECT_TRUE((*vm)->SetTssAddress(0xFFFBD000).ok());
  EXPECT_TRUE((*vm)->SetIdentityMapAddress(0xFFFBC000).ok());
  EXPECT_FALSE((*vm)->SetIrqLine(4, true).ok()) << "no irqchip yet";
  auto irqchip = KvmIrqchip::Create(vm->get());
  ASSERT_TRUE(irqchip.ok()) << irqchip.status();
  EXPECT_TRUE((*vm)->SetIrqLine(4, true).ok());
  (*irqchip)->SetIrqLevel(4, false);
  EXPECT_EQ((*irqchip)->failures(), 0u);
  auto vcpu = (*vm)->CreateVcpu(0);
  EXPECT_TRUE(vcpu.ok()) << vcpu.status();
}

}  // namespace
}  // namespace faultline::vmm
