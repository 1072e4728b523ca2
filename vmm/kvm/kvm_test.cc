#include "vmm/kvm/kvm.h"

#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

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

// Runs only where /dev/kvm exists (the nested test host).
TEST(KvmTest, OpensRealDeviceWhenPresent) {
  if (::access(kDefaultKvmPath, R_OK | W_OK) != 0) {
    GTEST_SKIP() << "no /dev/kvm here";
  }
  auto kvm = Kvm::Open();
  ASSERT_TRUE(kvm.ok()) << kvm.status();
  auto vm = (*kvm)->CreateVm();
  ASSERT_TRUE(vm.ok()) << vm.status();
  auto vcpu = (*vm)->CreateVcpu(0);
  EXPECT_TRUE(vcpu.ok()) << vcpu.status();
}

}  // namespace
}  // namespace faultline::vmm
