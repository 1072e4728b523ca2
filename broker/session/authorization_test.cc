#include "broker/session/authorization.h"

#include <map>
#include <memory>
#include <string>

#include "broker/session/session.h"
#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

TEST(AuthorizationTest, OwnerPolicy) {
  PeerTable table;
  table.Record(1, 1000, 1000, 1);
  table.Record(2, 1001, 1001, 2);
  table.Record(3, 0, 0, 3);
  const PeerIdentity owner = table.Lookup("fd:1");
  EXPECT_TRUE(SameOwnerOrRoot(owner, table.Lookup("fd:1")));
  EXPECT_FALSE(SameOwnerOrRoot(owner, table.Lookup("fd:2")));
  EXPECT_TRUE(SameOwnerOrRoot(owner, table.Lookup("fd:3")));
  EXPECT_FALSE(SameOwnerOrRoot(owner, table.Lookup("fd:99")));
  // A TCP caller is never the owner on the socket, nor the other way round.
  const PeerIdentity tcp = table.Lookup("ipv4:10.0.0.1:1");
  EXPECT_FALSE(SameOwnerOrRoot(owner, tcp));
  EXPECT_TRUE(SameOwnerOrRoot(tcp, table.Lookup("ipv6:[::1]:2")));
  EXPECT_FALSE(SameOwnerOrRoot(tcp, table.Lookup("fd:1")));
  EXPECT_TRUE(SameOwnerOrRoot(tcp, table.Lookup("fd:3")));
}

TEST(AuthorizationTest, SessionCallsNeedTheTokenAndTheOwner) {
  PeerTable table;
  table.Record(1, 1000, 1000, 1);
  table.Record(2, 1001, 1001, 2);
  Session::Identity identity;
  identity.id = "5e55";
  identity.token = "secret";
  identity.peer = table.Lookup("fd:1");
  Session session(identity, v1::Limits(), {});
  const PeerIdentity owner = table.Lookup("fd:1");
  EXPECT_TRUE(CheckSessionCaller(session, "secret", owner).ok());
  EXPECT_EQ(CheckSessionCaller(session, std::nullopt, owner).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CheckSessionCaller(session, "secreT", owner).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckSessionCaller(session, "secret!", owner).code(),
            absl::StatusCode::kPermissionDenied);
  absl::Status other =
      CheckSessionCaller(session, "secret", table.Lookup("fd:2"));
  EXPECT_EQ(other.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(other.message().find("uid=1000"), std::string::npos);
}

TEST(AuthorizationTest, AdminCallsOnTheSocketAreForRootAndTheBrokersUser) {
  PeerTable table;
  table.Record(1, 1000, 1000, 1);
  table.Record(2, 1001, 1001, 2);
  table.Record(3, 0, 0, 3);
  EXPECT_TRUE(CheckAdminCaller(table.Lookup("fd:1"), 1000, "", {}).ok());
  EXPECT_TRUE(CheckAdminCaller(table.Lookup("fd:3"), 1000, "", {}).ok());
  EXPECT_EQ(CheckAdminCaller(table.Lookup("fd:2"), 1000, "", {}).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(AuthorizationTest, AdminCallsOverTcpNeedTheAdminToken) {
  PeerTable table;
  const PeerIdentity tcp = table.Lookup("ipv4:127.0.0.1:9");
  EXPECT_EQ(CheckAdminCaller(tcp, 1000, "", "anything").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckAdminCaller(tcp, 1000, "s3cret", std::nullopt).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CheckAdminCaller(tcp, 1000, "s3cret", "s3cre").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(CheckAdminCaller(tcp, 1000, "s3cret", "s3cret").ok());
  // The socket's rule does not change with a token.
  table.Record(2, 1001, 1001, 2);
  EXPECT_EQ(
      CheckAdminCaller(table.Lookup("fd:2"), 1000, "s3cret", "s3cret").code(),
      absl::StatusCode::kPermissionDenied);
}

TEST(AuthorizationTest, TcpAttachesNeedTheirVmsToken) {
  const std::map<std::string, std::string> tokens = {{"vm0", "t0k3n"}};
  v1::AttachRequest request;
  request.set_vm_name("vm0");
  request.set_vm_token("t0k3n");
  EXPECT_TRUE(CheckVmToken(tokens, request).ok());
  request.set_vm_token("t0k3");
  EXPECT_EQ(CheckVmToken(tokens, request).code(),
            absl::StatusCode::kPermissionDenied);
  request.clear_vm_token();
  EXPECT_EQ(CheckVmToken(tokens, request).code(),
            absl::StatusCode::kUnauthenticated);
  request.set_vm_token("t0k3");
  request.set_vm_name("vm1");
  absl::Status unknown = CheckVmToken(tokens, request);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(unknown.message().find("no --vm_token"), std::string::npos);
}

}  // namespace
}  // namespace faultline::broker
