#include "vmm/devices/serial_input.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

// Reads the UART's receive FIFO until `want` bytes came or 10 s passed.
std::string Receive(Serial8250& uart, size_t want) {
  std::string got;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (got.size() < want && absl::Now() < deadline) {
    uint8_t lsr = 0;
    uart.Read(5, absl::MakeSpan(&lsr, 1));
    if ((lsr & 0x01) == 0) {
      absl::SleepFor(absl::Milliseconds(2));
      continue;
    }
    uint8_t byte = 0;
    uart.Read(0, absl::MakeSpan(&byte, 1));
    got.push_back(static_cast<char>(byte));
  }
  return got;
}

class SerialInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    null_ = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(null_, 0);
  }
  void TearDown() override { ::close(null_); }
  int null_ = -1;
};

TEST_F(SerialInputTest, StdinLikeInputArrivesWholeEvenPastTheFifo) {
  Serial8250 uart(null_);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  auto input = SerialInput::FromFd(pipe_fds[0], &uart);
  ASSERT_TRUE(input.ok()) << input.status();
  std::string typed;
  for (int i = 0; i < 40; ++i) typed += "echo " + std::to_string(i) + "\n";
  ASSERT_GT(typed.size(), Serial8250::kReceiveFifoBytes);
  ASSERT_EQ(::write(pipe_fds[1], typed.data(), typed.size()),
            static_cast<ssize_t>(typed.size()));
  ::close(pipe_fds[1]);  // end of input ends the reading, nothing else
  EXPECT_EQ(Receive(uart, typed.size()), typed);
  input->reset();
  ::close(pipe_fds[0]);
}

TEST_F(SerialInputTest, SocketClientsAreServedOneAfterAnother) {
  Serial8250 uart(null_);
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string path = std::string(tmp != nullptr ? tmp : "/tmp") + "/in.sock";
  if (path.size() >= sizeof(sockaddr_un::sun_path))
    path = "/tmp/fl-serial-in.sock";
  auto input = SerialInput::ListenUnix(path, &uart);
  ASSERT_TRUE(input.ok()) << input.status();
  for (const std::string line : {"first\n", "second\n"}) {
    const int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(client, 0);
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.data(), path.size());
    ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&address),
                        sizeof(address)),
              0);
    ASSERT_EQ(::write(client, line.data(), line.size()),
              static_cast<ssize_t>(line.size()));
    ::close(client);
    EXPECT_EQ(Receive(uart, line.size()), line);
  }
  EXPECT_EQ((*input)->bytes_received(), 13u);
  input->reset();
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "the socket is removed";
}

TEST_F(SerialInputTest, AnUnusablePathIsAClearError) {
  Serial8250 uart(null_);
  auto input = SerialInput::ListenUnix("/nonexistent-dir/in.sock", &uart);
  ASSERT_FALSE(input.ok());
  EXPECT_NE(input.status().message().find("serial input socket"),
            std::string::npos);
}

}  // namespace
}  // namespace faultline::vmm
