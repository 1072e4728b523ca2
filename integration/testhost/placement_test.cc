#include "integration/testhost/placement.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace faultline::testhost {
namespace {

HostKvmFacts Facts(bool dev_kvm, bool flag, bool pvm,
                   const char* hardware_module = "") {
  HostKvmFacts facts;
  facts.has_dev_kvm = dev_kvm;
  facts.cpu_has_vmx_or_svm = flag;
  facts.software_kvm_module = pvm;
  facts.hardware_kvm_module = hardware_module;
  return facts;
}

TEST(ChoosePlacementTest, AutoRunsDirectlyOnHardwareKvm) {
  auto placement = ChoosePlacement("auto", Facts(true, true, false, "kvm_amd"));
  ASSERT_TRUE(placement.ok()) << placement.status();
  EXPECT_TRUE(placement->direct);
  EXPECT_NE(placement->reason.find("running directly"), std::string::npos);
  EXPECT_NE(placement->reason.find("kvm_amd"), std::string::npos);
}

TEST(ChoosePlacementTest, AutoBootsTheTestHostWithoutKvm) {
  auto placement = ChoosePlacement("auto", Facts(false, true, false));
  ASSERT_TRUE(placement.ok());
  EXPECT_FALSE(placement->direct);
  EXPECT_NE(placement->reason.find("no /dev/kvm"), std::string::npos);
}

TEST(ChoosePlacementTest, AutoBootsTheTestHostOnKvmPvm) {
  // As on this project's machines: /dev/kvm from kvm_pvm, no vmx/svm flag.
  auto placement = ChoosePlacement("auto", Facts(true, false, true));
  ASSERT_TRUE(placement.ok());
  EXPECT_FALSE(placement->direct);
  EXPECT_NE(placement->reason.find("kvm_pvm"), std::string::npos);
  EXPECT_NE(placement->reason.find("nested test host"), std::string::npos);
  // kvm_pvm counts even where the CPU flag is there.
  EXPECT_FALSE(ChoosePlacement("auto", Facts(true, true, true))->direct);
}

TEST(ChoosePlacementTest, AutoBootsTheTestHostWithoutACpuFlag) {
  auto placement = ChoosePlacement("auto", Facts(true, false, false));
  ASSERT_TRUE(placement.ok());
  EXPECT_FALSE(placement->direct);
  EXPECT_NE(placement->reason.find("neither vmx nor svm"), std::string::npos);
}

TEST(ChoosePlacementTest, DirectRunsOnAnyKvmAndSaysWhenItIsSoftware) {
  auto software = ChoosePlacement("direct", Facts(true, false, true));
  ASSERT_TRUE(software.ok());
  EXPECT_TRUE(software->direct);
  EXPECT_NE(software->reason.find("although"), std::string::npos);
  auto hardware = ChoosePlacement("direct", Facts(true, true, false));
  ASSERT_TRUE(hardware.ok());
  EXPECT_EQ(hardware->reason.find("although"), std::string::npos);
  EXPECT_TRUE(absl::IsFailedPrecondition(
      ChoosePlacement("direct", Facts(false, true, false)).status()));
}

TEST(ChoosePlacementTest, TestHostAlwaysBootsIt) {
  EXPECT_FALSE(ChoosePlacement("testhost", Facts(true, true, false))->direct);
  EXPECT_FALSE(ChoosePlacement("testhost", Facts(false, false, false))->direct);
}

TEST(ChoosePlacementTest, RejectsOtherWords) {
  EXPECT_TRUE(absl::IsInvalidArgument(
      ChoosePlacement("sideways", Facts(true, true, false)).status()));
}

class ReadHostKvmFactsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/placement-XXXXXX";
    root_ = ::mkdtemp(pattern);
    ASSERT_FALSE(root_.empty());
    for (const char* dir : {"/dev", "/proc", "/sys", "/sys/module"}) {
      ASSERT_EQ(::mkdir((root_ + dir).c_str(), 0755), 0);
    }
  }
  void TearDown() override {
    std::string command = "rm -rf '" + root_ + "'";
    ASSERT_EQ(std::system(command.c_str()), 0);
  }
  void Write(const std::string& relative, const std::string& text) {
    std::ofstream(root_ + relative) << text;
  }
  std::string root_;
};

TEST_F(ReadHostKvmFactsTest, ReadsAKvmPvmMachine) {
  Write("/dev/kvm", "");
  Write("/proc/cpuinfo",
        "processor\t: 0\nflags\t\t: fpu vme hypervisor lahf_lm\n\n"
        "processor\t: 1\nflags\t\t: fpu vme hypervisor lahf_lm\n");
  ASSERT_EQ(::mkdir((root_ + "/sys/module/kvm_pvm").c_str(), 0755), 0);
  const HostKvmFacts facts = ReadHostKvmFacts(root_);
  EXPECT_TRUE(facts.has_dev_kvm);
  EXPECT_FALSE(facts.cpu_has_vmx_or_svm);
  EXPECT_TRUE(facts.software_kvm_module);
  EXPECT_EQ(facts.hardware_kvm_module, "");
}

TEST_F(ReadHostKvmFactsTest, ReadsAHardwareMachine) {
  Write("/dev/kvm", "");
  // "svm_lock" alone is not the flag; "svm" is.
  Write("/proc/cpuinfo", "flags\t\t: fpu svm_lock\nflags\t\t: fpu svm\n");
  ASSERT_EQ(::mkdir((root_ + "/sys/module/kvm_amd").c_str(), 0755), 0);
  const HostKvmFacts facts = ReadHostKvmFacts(root_ + "/");
  EXPECT_TRUE(facts.cpu_has_vmx_or_svm);
  EXPECT_FALSE(facts.software_kvm_module);
  EXPECT_EQ(facts.hardware_kvm_module, "kvm_amd");
}

TEST_F(ReadHostKvmFactsTest, FlagsNeedTheWholeWord) {
  Write("/proc/cpuinfo", "flags\t\t: fpu svm_lock vmxx\n");
  const HostKvmFacts facts = ReadHostKvmFacts(root_);
  EXPECT_FALSE(facts.has_dev_kvm);
  EXPECT_FALSE(facts.cpu_has_vmx_or_svm);
}

}  // namespace
}  // namespace faultline::testhost
