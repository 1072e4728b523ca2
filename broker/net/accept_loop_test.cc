#include "broker/net/accept_loop.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

// A listening socket in the abstract namespace, so the test leaves no file.
UniqueFd ListenAbstract(const std::string& name) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_TRUE(fd.valid());
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path + 1, name.data(), name.size());
  const socklen_t length = offsetof(sockaddr_un, sun_path) + 1 + name.size();
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), length), 0);
  EXPECT_EQ(::listen(fd.get(), 8), 0);
  return fd;
}

UniqueFd Connect(const std::string& name) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path + 1, name.data(), name.size());
  const socklen_t length = offsetof(sockaddr_un, sun_path) + 1 + name.size();
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), length),
            0);
  return fd;
}

std::string UniqueName() {
  return "faultline-accept-loop-test-" + std::to_string(::getpid());
}

TEST(AcceptLoop, HandsEachConnectionToTheCallback) {
  const std::string name = UniqueName();
  absl::Mutex mutex;
  int accepted = 0;
  auto loop =
      AcceptLoop::Start(ListenAbstract(name), 0, [&](UniqueFd connection) {
        const char reply = 'k';
        ASSERT_EQ(::write(connection.get(), &reply, 1), 1);
        absl::MutexLock lock(&mutex);
        ++accepted;
      });
  ASSERT_TRUE(loop.ok()) << loop.status();
  for (int i = 0; i < 3; ++i) {
    UniqueFd client = Connect(name);
    char reply = 0;
    ASSERT_EQ(::read(client.get(), &reply, 1), 1);
    EXPECT_EQ(reply, 'k');
  }
  absl::MutexLock lock(&mutex);
  EXPECT_TRUE(
      mutex.AwaitWithTimeout(absl::Condition(
                                 +[](int* n) { return *n == 3; }, &accepted),
                             absl::Seconds(10)));
}

TEST(AcceptLoop, StopsPromptlyAndIsIdempotent) {
  auto loop = AcceptLoop::Start(ListenAbstract(UniqueName() + "-stop"), 0,
                                [](UniqueFd) {});
  ASSERT_TRUE(loop.ok()) << loop.status();
  (*loop)->Stop();
  (*loop)->Stop();
}

TEST(AcceptLoop, PassesAcceptFlags) {
  const std::string name = UniqueName() + "-flags";
  absl::Notification done;
  int flags = 0;
  auto loop = AcceptLoop::Start(ListenAbstract(name), SOCK_NONBLOCK,
                                [&](UniqueFd connection) {
                                  flags = ::fcntl(connection.get(), F_GETFL);
                                  done.Notify();
                                });
  ASSERT_TRUE(loop.ok()) << loop.status();
  UniqueFd client = Connect(name);
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_NE(flags & O_NONBLOCK, 0);
}

}  // namespace
}  // namespace faultline::broker
