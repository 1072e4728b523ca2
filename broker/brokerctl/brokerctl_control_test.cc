// brokerctl steering a running broker: inject, frames, put, refused users,
// an unreachable broker.
#include "broker/brokerctl/brokerctl_test_fixture.h"

namespace faultline::brokerctl {
namespace {

TEST_F(BrokerctlTest, InjectAndClear) {
  v1::AttachResponse attached = AttachVm();
  Result inject = Brokerctl(absl::StrCat(
      "inject --session=", attached.session_id(),
      " --region=1 --first=0 --last=4096 --count=1 --retry=not_yet_available "
      "--delay_us=55"));
  ASSERT_EQ(inject.exit_code, 0) << inject.output;
  v1::FaultAnswer retried = Resolve(attached, 1, 4096);
  EXPECT_EQ(retried.retry().reason(), v1::RETRY_REASON_NOT_YET_AVAILABLE);
  EXPECT_EQ(retried.retry().delay_hint_us(), 55u);
  EXPECT_TRUE(Resolve(attached, 1, 4096).has_page());

  inject = Brokerctl(absl::StrCat("inject --session=", attached.session_id(),
                                  " --region=1 --error=denied --message=nope"));
  ASSERT_EQ(inject.exit_code, 0) << inject.output;
  v1::FaultAnswer denied = Resolve(attached, 1, 0);
  EXPECT_EQ(denied.error().kind(), v1::ERROR_KIND_DENIED);
  EXPECT_EQ(denied.error().message(), "nope");
  Result clear = Brokerctl("inject-clear");
  EXPECT_EQ(clear.exit_code, 0);
  EXPECT_NE(clear.output.find("cleared 1 rules"), std::string::npos);
  EXPECT_TRUE(Resolve(attached, 1, 0).has_page());

  Result bad =
      Brokerctl(absl::StrCat("inject --session=", attached.session_id(),
                             " --region=1 --retry=sometimes"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("sometimes"), std::string::npos);
}

TEST_F(BrokerctlTest, FramesPatternWriteAndRead) {
  AttachVm();
  Result write = Brokerctl("frames write pcipool 2 --pattern_seed=9 --count=3");
  ASSERT_EQ(write.exit_code, 0) << write.output;
  const std::string out_file = dir_ + "/frames.bin";
  Result read = Brokerctl("frames read pcipool 2 3 --out=" + out_file);
  ASSERT_EQ(read.exit_code, 0) << read.output;
  std::ifstream in(out_file, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  const std::string data = content.str();
  ASSERT_EQ(data.size(), 3 * 4096u);
  for (uint64_t f = 0; f < 3; ++f) {
    uint64_t words[pattern::kWordsPerPage];
    std::memcpy(words, data.data() + f * 4096, 4096);
    EXPECT_EQ(pattern::CountMismatches(9, 2 + f, words), 0u) << "frame " << f;
  }
  Result outside = Brokerctl("frames read pcipool 7 4");
  EXPECT_EQ(outside.exit_code, 1);
  EXPECT_NE(outside.output.find("outside its 8 frames"), std::string::npos)
      << outside.output;
}

TEST_F(BrokerctlTest, PutFillsAStore) {
  v1::AttachResponse attached = AttachVm();
  EXPECT_EQ(Resolve(attached, 2, 4096).retry().reason(),
            v1::RETRY_REASON_NOT_YET_AVAILABLE);
  const std::string file = dir_ + "/pages.bin";
  std::ofstream(file, std::ios::binary) << std::string(4096 + 10, 'p');
  Result put = Brokerctl("put blocks " + file + " --offset=4096");
  ASSERT_EQ(put.exit_code, 0) << put.output;
  EXPECT_NE(put.output.find("put 2 pages"), std::string::npos) << put.output;
  EXPECT_EQ(Resolve(attached, 2, 4096).page().data(), std::string(4096, 'p'));
  EXPECT_EQ(Resolve(attached, 2, 8192).page().data(),
            std::string(10, 'p') + std::string(4086, '\0'));
  Result unaligned = Brokerctl("put blocks " + file + " --offset=100");
  EXPECT_EQ(unaligned.exit_code, 2);
  Result far = Brokerctl("put blocks " + file + " --offset=0x4000000000000000");
  EXPECT_EQ(far.exit_code, 1) << far.output;
  EXPECT_NE(far.output.find("largest store offset"), std::string::npos)
      << far.output;
}

TEST_F(BrokerctlTest, StoresListsAndDeleteRemoves) {
  v1::AttachResponse attached = AttachVm();
  const std::string file = dir_ + "/pages.bin";
  std::ofstream(file, std::ios::binary) << std::string(3 * 4096, 'q');
  ASSERT_EQ(Brokerctl("put blocks " + file).exit_code, 0);
  Result stores = Brokerctl("stores");
  ASSERT_EQ(stores.exit_code, 0) << stores.output;
  EXPECT_NE(stores.output.find("backend: memory"), std::string::npos)
      << stores.output;
  EXPECT_NE(stores.output.find("largest offset 1.0 TiB"), std::string::npos)
      << stores.output;
  EXPECT_NE(stores.output.find("blocks  3      12.0 KiB"), std::string::npos)
      << stores.output;
  Result json = Brokerctl("--json stores");
  EXPECT_NE(json.output.find("{\"store\":\"blocks\",\"pages\":\"3\"}"),
            std::string::npos)
      << json.output;

  Result deleted = Brokerctl("delete blocks");
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_NE(deleted.output.find("deleted store blocks (3 pages, 12.0 KiB)"),
            std::string::npos)
      << deleted.output;
  EXPECT_EQ(Resolve(attached, 2, 0).retry().reason(),
            v1::RETRY_REASON_NOT_YET_AVAILABLE);
  EXPECT_NE(Brokerctl("stores").output.find("(no stores)"), std::string::npos);
  Result again = Brokerctl("delete blocks");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("no store named blocks"), std::string::npos)
      << again.output;
  EXPECT_EQ(Brokerctl("delete").exit_code, 2);
}

TEST_F(BrokerctlTest, OtherUsersAreRefusedAdminCalls) {
  // Bazel's sandbox may run tests in a user namespace without uid 65534.
  if (::getuid() != 0 ||
      std::system("setpriv --reuid=65534 --regid=0 --clear-groups true "
                  ">/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "needs root and setpriv able to switch to uid 65534";
  }
  // Group root keeps the socket (mode 0660) reachable; the uid differs.
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  const std::string command =
      absl::StrCat("timeout 60 setpriv --reuid=65534 --regid=0 --clear-groups ",
                   Runfile("broker/brokerctl/brokerctl"),
                   " --broker=unix:", socket_, " sessions 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[1024] = {};
  size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, pipe);
  const int status = ::pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(std::string(buffer, n).find("uid=65534"), std::string::npos)
      << std::string(buffer, n);
}

TEST(BrokerctlUnreachableTest, ReportsAddressAndExits3) {
  const std::string command =
      absl::StrCat("timeout 60 ", Runfile("broker/brokerctl/brokerctl"),
                   " --broker=unix:/nonexistent/broker.sock --timeout=1s "
                   "sessions 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[1024] = {};
  size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, pipe);
  const int status = ::pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_NE(std::string(buffer, n).find("/nonexistent/broker.sock"),
            std::string::npos);
}

}  // namespace
}  // namespace faultline::brokerctl
