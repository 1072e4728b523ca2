// Service tests of what a VMM of another uid is granted (issue 12 item 6):
// its staging and private pool files become its own (mode 0600, so no
// other uid opens them), a shared pool the broker made goes to its first
// such owner, and a shared pool of another uid is refused with the reason.
// Outside Bazel's sandbox (tags = ["local"]): the probe runs as uid 65534.
#include <sys/stat.h>
#include <unistd.h>

#include "broker/probe_process.h"
#include "broker/server_test_fixture.h"

namespace faultline::broker {
namespace {

using testing::RunProbe;

constexpr uid_t kNobody = 65534;
constexpr uid_t kAnotherUid = 65533;

class GrantServiceTest : public BrokerServerTest {
 protected:
  void SetUp() override {
    BrokerServerTest::SetUp();
    if (!testing::CanRunAsUid(kNobody) || !testing::CanRunAsUid(kAnotherUid)) {
      GTEST_SKIP() << "needs root and setpriv to uids 65534 and 65533";
    }
    // Other uids must reach the socket and the pool directory.
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  }

  testing::ProbeResult Probe(const std::string& vm,
                             const std::vector<std::string>& more, uid_t uid) {
    std::vector<std::string> args = {"--socket=" + dir_ + "/broker.sock",
                                     "--vm_name=" + vm};
    args.insert(args.end(), more.begin(), more.end());
    return RunProbe(args, uid);
  }

  static void ExpectOwnedOnlyBy(const std::string& path, uid_t uid) {
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_uid, uid) << path;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << path;
  }
};

TEST_F(GrantServiceTest, AVmmOfAnotherUidCanOpenWhatItIsGranted) {
  // Before the fix the files stayed root's, 0600: "Permission denied".
  testing::ProbeResult probe =
      Probe("nobody", {"--staging", "--private_pool=gpu", "--shared_pool=fb"},
            kNobody);
  ASSERT_EQ(probe.values["attach"], "OK") << probe.output;
  EXPECT_EQ(probe.values["open staging"], "ok") << probe.output;
  EXPECT_EQ(probe.values["open pool 2"], "ok") << probe.output;
  EXPECT_EQ(probe.values["open pool 3"], "ok") << probe.output;
  ExpectOwnedOnlyBy(probe.values["staging"], kNobody);
  ExpectOwnedOnlyBy(probe.values["pool 2"], kNobody);
  ExpectOwnedOnlyBy(probe.values["pool 3"], kNobody);
}

TEST_F(GrantServiceTest, ASharedPoolOfAnotherUidIsRefusedWithTheReason) {
  testing::ProbeResult first = Probe("first", {"--shared_pool=fb"}, kNobody);
  ASSERT_EQ(first.values["attach"], "OK") << first.output;
  testing::ProbeResult other =
      Probe("other", {"--shared_pool=fb", "--staging"}, kAnotherUid);
  EXPECT_EQ(other.exit_code, 1) << other.output;
  EXPECT_EQ(other.values["attach"].substr(0, 2), "9 ") << other.output;
  EXPECT_NE(other.output.find("belongs to uid 65534, so a VMM of uid 65533"),
            std::string::npos)
      << other.output;
  // Root may attach it all the same; the refused attach left nothing.
  MustAttach("root",
             {DeviceRegion(3, 0x200000000, 4, "fb", 4,
                           v1::FRAME_POLICY_IDENTITY, v1::SHARING_SHARED)});
  EXPECT_EQ(Sessions().sessions_size(), 2);
}

}  // namespace
}  // namespace faultline::broker
