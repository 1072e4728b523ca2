// Service tests of who may call and over what: Unix peers' credentials,
// TCP with its VM tokens and TLS, session tokens, the metrics endpoint.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "broker/server_test_fixture.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

TEST_F(BrokerServerTest, UnixPeersAreIdentifiedByCredentials) {
  auto attached = MustAttach("vm", {PatternRegion(1, 0, 4, 1)});
  v1::ListSessionsResponse sessions = Sessions();
  ASSERT_EQ(sessions.sessions_size(), 1);
  EXPECT_EQ(sessions.sessions(0).peer(),
            absl::StrCat("uid=", ::getuid(), " pid=", ::getpid()));
}

TEST_F(BrokerServerTest, TcpAttachNeedsTheVmToken) {
  server_.reset();
  StartBroker(dir_, 2048, /*with_tcp=*/true);
  const std::string tcp = server_->tcp_address();
  ASSERT_FALSE(tcp.empty());
  EXPECT_EQ(server_->ReadyLine(), absl::StrCat("broker: serving on unix:", dir_,
                                               "/broker.sock tcp:", tcp));
  auto stub = v1::FaultBroker::NewStub(
      grpc::CreateChannel(tcp, grpc::InsecureChannelCredentials()));
  auto attach = [&](const std::string &vm, const std::string &token) {
    v1::AttachRequest request;
    request.set_protocol_version(v1::wire::kProtocolVersion);
    request.set_vm_name(vm);
    request.set_vm_token(token);
    *request.add_regions() = PatternRegion(1, 0, 4, 1);
    v1::AttachResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    return stub->Attach(&context, request, &response);
  };
  grpc::Status missing = attach("tcpvm", "");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(missing.error_message().find("no vm_token"), std::string::npos)
      << missing.error_message();
  grpc::Status wrong = attach("tcpvm", "guess");
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(wrong.error_message().find("wrong vm_token"), std::string::npos);
  grpc::Status unknown = attach("othervm", "sesame");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(unknown.error_message().find("no --vm_token"), std::string::npos);
  EXPECT_TRUE(attach("tcpvm", "sesame").ok());
}

TEST_F(BrokerServerTest, TcpWithTlsServesTlsClients) {
  const std::string cert = dir_ + "/cert.pem";
  const std::string key = dir_ + "/key.pem";
  const std::string openssl = absl::StrCat(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost -keyout ",
      key, " -out ", cert, " >/dev/null 2>&1");
  if (std::system(openssl.c_str()) != 0) GTEST_SKIP() << "no openssl";
  server_.reset();
  StartBroker(dir_, 2048, /*with_tcp=*/true, cert, key);
  std::ifstream in(cert);
  std::stringstream pem;
  pem << in.rdbuf();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pem.str();
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto secure = v1::FaultBroker::NewStub(grpc::CreateCustomChannel(
      server_->tcp_address(), grpc::SslCredentials(ssl), args));
  v1::AttachRequest request;
  request.set_protocol_version(v1::wire::kProtocolVersion);
  request.set_vm_name("tcpvm");
  request.set_vm_token("sesame");
  *request.add_regions() = PatternRegion(1, 0, 4, 1);
  v1::AttachResponse response;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status = secure->Attach(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  // A plaintext client cannot talk to the TLS port.
  auto plain = v1::FaultBroker::NewStub(grpc::CreateChannel(
      server_->tcp_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(5));
  request.set_vm_name("other");
  EXPECT_EQ(plain->Attach(&context, request, &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(BrokerServerTest, MetricsEndpointServesPrometheusText) {
  auto attached = MustAttach("metricvm", {PatternRegion(1, 0, 4, 1)});
  v1::FaultAnswer answer;
  ASSERT_TRUE(Resolve(attached, 1, 0, &answer).ok());
  const std::string address = server_->metrics_address();
  const size_t colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(std::stoi(address.substr(colon + 1)));
  ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  timeval deadline = {10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &deadline, sizeof(deadline));
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)),
            0);
  const std::string request = "GET /metrics HTTP/1.0\r\n\r\n";
  ASSERT_EQ(::write(fd, request.data(), request.size()),
            static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0)
    response.append(buffer, n);
  ::close(fd);
  EXPECT_EQ(response.rfind("HTTP/1.0 200 OK", 0), 0u) << response;
  EXPECT_NE(response.find("vm=\"metricvm\",region=\"ram1\",answer=\"page\"} 1"),
            std::string::npos)
      << response;
}

TEST_F(BrokerServerTest, SessionCannotUseAnotherSessionsToken) {
  auto a = MustAttach("a", {PatternRegion(1, 0, 8, 5)});
  auto b = MustAttach("b", {PatternRegion(1, 0, 8, 6)});
  v1::FaultAnswer answer;
  grpc::Status status = Resolve(a, 1, 0, &answer, b.session_token());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(status.error_message().find(a.session_id()), std::string::npos);

  auto stream =
      FaultStreamClient::Open(channel_, a.session_id(), b.session_token());
  ASSERT_TRUE(stream.ok());
  EXPECT_EQ((*stream)->Finish().error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  EXPECT_EQ(Detach(a.session_id(), b.session_token()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Resolve(a, 1, 0, &answer).ok());
}

// The session token alone is not enough: a session attached on the Unix
// socket belongs to its uid there, and a TCP caller holding its token is
// not that uid.
TEST_F(BrokerServerTest, TcpCallersCannotUseAUnixPeersSession) {
  server_.reset();
  StartBroker(dir_, 2048, /*with_tcp=*/true);
  auto attached = MustAttach("unixvm", {PatternRegion(1, 0, 4, 1)});
  auto tcp = TcpChannel();
  auto stub = v1::FaultBroker::NewStub(tcp);
  v1::ResolveFaultRequest request;
  request.set_session_id(attached.session_id());
  request.mutable_fault()->set_region_id(1);
  v1::FaultAnswer answer;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    context.AddMetadata(v1::wire::kSessionTokenKey, attached.session_token());
    grpc::Status status = stub->ResolveFault(&context, request, &answer);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_NE(status.error_message().find("uid="), std::string::npos)
        << status.error_message();
  }
  auto stream = FaultStreamClient::Open(tcp, attached.session_id(),
                                        attached.session_token());
  ASSERT_TRUE(stream.ok());
  EXPECT_EQ((*stream)->Finish().error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  {
    v1::DetachRequest detach;
    detach.set_session_id(attached.session_id());
    v1::DetachResponse detached;
    grpc::ClientContext context;
    SetDeadline(&context);
    context.AddMetadata(v1::wire::kSessionTokenKey, attached.session_token());
    EXPECT_EQ(stub->Detach(&context, detach, &detached).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  // Its owner still is served, on the socket.
  EXPECT_TRUE(Resolve(attached, 1, 0, &answer).ok());
}

// Admin calls over TCP need the broker's admin token: refused when the
// broker has none, UNAUTHENTICATED without it, PERMISSION_DENIED when
// wrong. The Unix socket keeps its rule (root and the broker's user).
TEST_F(BrokerServerTest, AdminCallsOverTcpNeedTheAdminToken) {
  server_.reset();
  StartBroker(dir_, 2048, /*with_tcp=*/true);
  auto list = [&](std::optional<std::string> token) {
    auto admin = v1::BrokerAdmin::NewStub(TcpChannel());
    grpc::ClientContext context;
    SetDeadline(&context);
    if (token.has_value())
      context.AddMetadata(v1::wire::kAdminTokenKey, *token);
    v1::ListSessionsResponse sessions;
    return admin->ListSessions(&context, v1::ListSessionsRequest(), &sessions);
  };
  grpc::Status closed = list("anything");
  EXPECT_EQ(closed.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(closed.error_message().find("admin token"), std::string::npos)
      << closed.error_message();

  server_.reset();
  configure_ = [](BrokerOptions &options) {
    options.admin_token = "0123456789abcdef";
  };
  StartBroker(dir_, 2048, /*with_tcp=*/true);
  EXPECT_EQ(list(std::nullopt).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(list("0123456789abcdeF").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(list("0123456789abcdef").ok());
  // Streaming admin calls too.
  auto admin = v1::BrokerAdmin::NewStub(TcpChannel());
  grpc::ClientContext context;
  SetDeadline(&context);
  auto watch = admin->WatchFaults(&context, v1::WatchFaultsRequest());
  v1::FaultEvent event;
  EXPECT_FALSE(watch->Read(&event));
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Sessions().sessions_size(), 0);
}

}  // namespace
}  // namespace faultline::broker
