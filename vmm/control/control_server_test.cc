#include "vmm/control/control_server.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;

// TEST_TMPDIR can be longer than a socket path may be (108 bytes).
std::string SocketPath() {
  static const std::string path = [] {
    char dir[] = "/tmp/vmm-control-XXXXXX";
    EXPECT_NE(::mkdtemp(dir), nullptr);
    return std::string(dir) + "/control.sock";
  }();
  return path;
}

// Connects, sends `text`, reads until `lines` newlines or EOF.
std::string Exchange(const std::string& path, const std::string& text,
                     int lines) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  EXPECT_EQ(
      ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  EXPECT_EQ(::write(fd, text.data(), text.size()),
            static_cast<ssize_t>(text.size()));
  std::string reply;
  char c;
  while (lines > 0 && ::read(fd, &c, 1) == 1) {
    reply += c;
    if (c == '\n') --lines;
  }
  ::close(fd);
  return reply;
}

TEST(ControlServerTest, AnswersOneLinePerCommand) {
  std::string seen;
  auto server = ControlServer::Create(SocketPath(), [&](ControlCommand c) {
    seen += std::to_string(static_cast<int>(c));
    return c == ControlCommand::kStatus ? std::string("running")
                                        : std::string("ok");
  });
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(Exchange(SocketPath(), "status\npause\n", 2), "running\nok\n");
  EXPECT_THAT(Exchange(SocketPath(), "launch missiles\n", 1),
              HasSubstr("error: unknown command"));
  EXPECT_THAT(Exchange(SocketPath(), std::string(300, 'x'), 1),
              HasSubstr("too long"));
  EXPECT_EQ(seen, "30");
}

TEST(ControlServerTest, IdleClientDoesNotBlockShutdown) {
  auto server = ControlServer::Create(
      SocketPath(), [](ControlCommand) { return std::string("ok"); },
      absl::Seconds(60));
  ASSERT_TRUE(server.ok());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, SocketPath().c_str(),
               sizeof(address.sun_path) - 1);
  ASSERT_EQ(
      ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  server->reset();  // returns although the client never sends a line
  ::close(fd);
  EXPECT_NE(::access(SocketPath().c_str(), F_OK), 0);
}

}  // namespace
}  // namespace faultline::vmm
