#include "integration/testhost/daemons.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace faultline::testhost {
namespace {

constexpr char kAllSettings[] =
    "user = \"root\"\n"
    "group = \"root\"\n"
    "dynamic_ownership = 0\n"
    "remember_owner = 0\n"
    "cgroup_controllers = [ ]\n"
    "namespaces = [ ]\n"
    "security_driver = \"none\"\n";

TEST(ConfigureQemuConfTest, AppendsEverySettingToAnEmptyFile) {
  const std::string configured = ConfigureQemuConf("");
  EXPECT_TRUE(absl::StrContains(configured, kAllSettings)) << configured;
}

TEST(ConfigureQemuConfTest, LeavesAConfiguredFileAlone) {
  const std::string once = ConfigureQemuConf("# comment\nvnc_listen = \"x\"\n");
  EXPECT_EQ(ConfigureQemuConf(once), once);
  EXPECT_EQ(ConfigureQemuConf(kAllSettings), kAllSettings);
}

TEST(ConfigureQemuConfTest, CommentsOutConflictingAssignments) {
  const std::string configured = ConfigureQemuConf(
      "#user = \"nobody\"\n"
      "user = \"libvirt-qemu\"\n"
      "cgroup_controllers = [ \"cpu\",\n"
      "    \"devices\" ]\n"
      "max_files = 10\n");
  EXPECT_TRUE(absl::StrContains(configured, "#user = \"nobody\"\n"));
  EXPECT_TRUE(absl::StrContains(
      configured,
      "# user = \"libvirt-qemu\"  # replaced by faultline testhost\n"));
  EXPECT_TRUE(absl::StrContains(configured, "#    \"devices\" ]\n"));
  EXPECT_TRUE(absl::StrContains(configured, "max_files = 10\n"));
  EXPECT_TRUE(absl::StrContains(configured, kAllSettings)) << configured;
  EXPECT_EQ(ConfigureQemuConf(configured), configured);
}

TEST(SocketAcceptsTest, TellsAListeningSocketFromAMissingOne) {
  // TEST_TMPDIR is too long for a socket address; a short folder in /tmp.
  char dir[] = "/tmp/testhost-socket-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/s";
  EXPECT_FALSE(SocketAccepts(path));

  int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(address.sun_path));
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(
      bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
      0);
  ASSERT_EQ(listen(listener, 4), 0);
  EXPECT_TRUE(SocketAccepts(path));
  close(listener);
  EXPECT_FALSE(SocketAccepts(path));
  unlink(path.c_str());
  rmdir(dir);
  EXPECT_FALSE(SocketAccepts(std::string(200, 'x')));
}

}  // namespace
}  // namespace faultline::testhost
