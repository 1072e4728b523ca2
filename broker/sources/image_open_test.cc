#include "broker/sources/image_open.h"

#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

constexpr uid_t kOtherUid = 65534;
constexpr gid_t kOtherGroup = 12345;

class ImageOpenTest : public ::testing::Test {
 protected:
  // Under /tmp, where another uid can reach it (TEST_TMPDIR may be 0700).
  void SetUp() override {
    char dir[] = "/tmp/faultline-image-open-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string File(const std::string& name, mode_t mode = 0644, uid_t owner = 0,
                   gid_t group = 0) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << "content of " << name;
    ::chmod(path.c_str(), mode);
    if (::getuid() == 0) {
      EXPECT_EQ(::chown(path.c_str(), owner, group), 0);
    }
    return path;
  }

  static ImageAccess AsUid(uid_t uid, std::vector<gid_t> groups = {}) {
    ImageAccess access;
    access.uid = uid;
    access.gid = uid;
    access.groups = std::move(groups);
    return access;
  }

  // Root, and this thread may take another file-system uid (not so in a
  // user namespace without uid 65534).
  static bool CanSwitchUid() {
    if (::getuid() != 0) return false;
    bool switched = false;
    std::thread([&] {
      ::setfsuid(kOtherUid);
      switched = ::setfsuid(static_cast<uid_t>(-1)) == kOtherUid;
    }).join();
    return switched;
  }

  std::string dir_;
};

TEST_F(ImageOpenTest, OpensRegularFilesAndRefusesEverythingElse) {
  absl::StatusOr<UniqueFd> file = OpenImageFile(File("disk.img"), AsUid(0));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(::fcntl(file->get(), F_GETFL) & O_NONBLOCK, 0);

  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // No writer: a blocking open would wait forever.
  absl::StatusOr<UniqueFd> refused = OpenImageFile(fifo, AsUid(0));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("a FIFO, not a regular file"),
            std::string::npos)
      << refused.status();
  for (const std::string& path : {dir_, std::string("/dev/null")}) {
    EXPECT_EQ(OpenImageFile(path, AsUid(0)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << path;
  }
  EXPECT_EQ(OpenImageFile("/proc/self/status", AsUid(0)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenImageFile(dir_ + "/none", AsUid(0)).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ImageOpenTest, MagicLinksAreNotFollowed) {
  // /proc/self/fd/N is the broker's own open file, whatever directories
  // would have kept the caller from it.
  const UniqueFd open_file(::open(File("held.img").c_str(), O_RDONLY));
  ASSERT_TRUE(open_file.valid());
  absl::StatusOr<UniqueFd> file = OpenImageFile(
      "/proc/self/fd/" + std::to_string(open_file.get()), AsUid(0));
  EXPECT_EQ(file.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(file.status().message().find("magic link"), std::string::npos)
      << file.status();
}

TEST_F(ImageOpenTest, BeneathADirectoryThereIsNoWayOut) {
  ASSERT_EQ(::mkdir((dir_ + "/images").c_str(), 0755), 0);
  File("images/disk.img");
  File("outside.img");
  ASSERT_EQ(::symlink("../outside.img", (dir_ + "/images/link").c_str()), 0);
  ImageAccess access;
  access.kind = ImageAccess::Kind::kBeneathDirectory;
  access.directory = dir_ + "/images";
  EXPECT_TRUE(OpenImageFile("disk.img", access).ok());
  for (const std::string& path :
       {std::string("../outside.img"), std::string("link"),
        dir_ + "/images/disk.img", std::string("/etc/passwd")}) {
    absl::StatusOr<UniqueFd> file = OpenImageFile(path, access);
    EXPECT_EQ(file.status().code(), absl::StatusCode::kPermissionDenied)
        << path << ": " << file.status();
  }
}

TEST_F(ImageOpenTest, AsAnotherUidTheKernelChecksThatUidsRights) {
  if (!CanSwitchUid()) GTEST_SKIP() << "needs root and uid 65534";
  const std::string secret = File("secret.img", 0600);
  const std::string mine = File("mine.img", 0600, kOtherUid, kOtherUid);
  const std::string group = File("group.img", 0640, 0, kOtherGroup);
  auto open_on_thread = [](const std::string& path, const ImageAccess& access) {
    absl::StatusOr<UniqueFd> result = absl::UnknownError("not run");
    std::thread([&] { result = OpenImageFile(path, access); }).join();
    return result;
  };
  absl::StatusOr<UniqueFd> denied = open_on_thread(secret, AsUid(kOtherUid));
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(denied.status().message().find("uid 65534"), std::string::npos)
      << denied.status();
  EXPECT_TRUE(open_on_thread(mine, AsUid(kOtherUid)).ok());
  EXPECT_FALSE(open_on_thread(group, AsUid(kOtherUid)).ok());
  EXPECT_TRUE(open_on_thread(group, AsUid(kOtherUid, {kOtherGroup})).ok());
  // This thread kept its own identity throughout.
  EXPECT_TRUE(OpenImageFile(secret, AsUid(0)).ok());
}

TEST_F(ImageOpenTest, AnOpenThatHangsIsAbandonedAtTheDeadline) {
  auto release = std::make_shared<absl::Notification>();
  ImageOpener opener(/*max_in_progress=*/1,
                     [release](const std::string&,
                               const ImageAccess&) -> absl::StatusOr<UniqueFd> {
                       release->WaitForNotification();
                       return UniqueFd(::open("/dev/null", O_RDONLY));
                     });
  absl::StatusOr<UniqueFd> late =
      opener.Open("hung.img", AsUid(0), absl::Now() + absl::Milliseconds(100));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(late.status().message().find("did not open within"),
            std::string::npos);
  // The hung open still counts: no more than one at a time.
  EXPECT_EQ(opener.Open("more.img", AsUid(0), absl::Now() + absl::Seconds(1))
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
  release->Notify();
  for (int i = 0; i < 1000 && opener.in_progress() > 0; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(opener.in_progress(), 0);
}

}  // namespace
}  // namespace faultline::broker
