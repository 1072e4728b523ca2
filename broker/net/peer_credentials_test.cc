#include "broker/net/peer_credentials.h"

#include <sys/wait.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

TEST(PeerTableTest, MapsFdPeersToCredentials) {
  PeerTable table;
  table.Record(7, 1000, 1000, 42);
  PeerIdentity peer = table.Lookup("fd:7");
  EXPECT_EQ(peer.transport, PeerIdentity::Transport::kUnix);
  EXPECT_TRUE(peer.has_credentials);
  EXPECT_EQ(peer.uid, 1000u);
  EXPECT_EQ(peer.description, "uid=1000 pid=42");
  EXPECT_TRUE(peer.groups.empty());
  table.Record(7, 0, 0, 43, {4, 27});  // The fd was reused by a new client.
  EXPECT_EQ(table.Lookup("fd:7").pid, 43);
  EXPECT_EQ(table.Lookup("fd:7").groups, (std::vector<gid_t>{4, 27}));

  EXPECT_EQ(table.Lookup("ipv4:127.0.0.1:5000").transport,
            PeerIdentity::Transport::kTcp);
  EXPECT_EQ(table.Lookup("ipv6:[::1]:5000").transport,
            PeerIdentity::Transport::kTcp);
  PeerIdentity unknown = table.Lookup("fd:99");
  EXPECT_EQ(unknown.transport, PeerIdentity::Transport::kOther);
  EXPECT_FALSE(unknown.has_credentials);
}

PeerIdentity UnixPeer(pid_t pid) {
  PeerTable table;
  table.Record(3, ::getuid(), ::getgid(), pid);
  return table.Lookup("fd:3");
}

TEST(PeerProcessExitedTest, ALiveProcessHasNotExited) {
  EXPECT_FALSE(PeerProcessExited(UnixPeer(::getpid())));
}

TEST(PeerProcessExitedTest, AZombieAndAReapedProcessHaveExited) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  // Exited but not reaped yet: still a pid, already gone.
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, child, &info, WEXITED | WNOWAIT), 0);
  EXPECT_TRUE(PeerProcessExited(UnixPeer(child)));
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_TRUE(PeerProcessExited(UnixPeer(child)));
}

TEST(PeerProcessExitedTest, UnknownForPeersWithoutAPid) {
  PeerTable table;
  EXPECT_FALSE(PeerProcessExited(table.Lookup("ipv4:127.0.0.1:5000")));
  EXPECT_FALSE(PeerProcessExited(UnixPeer(0)));
}

}  // namespace
}  // namespace faultline::broker
