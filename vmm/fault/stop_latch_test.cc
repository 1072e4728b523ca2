#include "vmm/fault/stop_latch.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

// What `run` writes to stderr.
template <typename Run>
std::string Stderr(Run run) {
  std::fflush(stderr);
  char path[] = "/tmp/stop-latch-test-XXXXXX";
  const int file = ::mkstemp(path);
  EXPECT_GE(file, 0);
  ::unlink(path);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(file, STDERR_FILENO);
  run();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string out(4096, '\0');
  const ssize_t n = ::pread(file, out.data(), out.size(), 0);
  ::close(file);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

TEST(StopLatchTest, TheFirstStopReachesTheCallbackOnceAndIsNotLogged) {
  std::vector<StopReason> stops;
  StopLatch latch([&](const StopReason& reason) { stops.push_back(reason); });
  const std::string logged = Stderr([&] {
    latch.Stop(StopKind::kFaultDeadline, "fault deadline of 30s exceeded");
    latch.Stop(StopKind::kVmmError, "a later stop");
  });
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_EQ(stops[0].kind, StopKind::kFaultDeadline);
  EXPECT_EQ(stops[0].message, "fault deadline of 30s exceeded");
  EXPECT_TRUE(latch.stopped());
  // The exit report prints the stop's message; a line here as well made
  // the VMM print it twice.
  EXPECT_EQ(logged, "");
}

}  // namespace
}  // namespace faultline::vmm
