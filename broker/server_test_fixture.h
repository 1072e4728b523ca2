// Test fixture for service tests: a BrokerServer in-process, reached over a
// real gRPC channel on its Unix socket. For tests only.
#ifndef FAULTLINE_BROKER_SERVER_TEST_FIXTURE_H_
#define FAULTLINE_BROKER_SERVER_TEST_FIXTURE_H_

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "broker/server.h"
#include "broker/test_client.h"
#include "gtest/gtest.h"
#include "proto/faultline/v1/wire.h"
#include "proto/pattern.h"

namespace faultline::broker {

using testing::ConnectUnix;
using testing::DeviceRegion;
using testing::FaultStreamClient;
using testing::PatternRegion;
using testing::SetDeadline;

inline constexpr absl::Duration kWait = absl::Seconds(30);

// Unix socket paths are limited to 107 bytes, which TEST_TMPDIR can exceed:
// a short directory under /tmp instead.
inline std::string FreshDir() {
  char dir[] = "/tmp/faultline-broker-test-XXXXXX";
  EXPECT_NE(::mkdtemp(dir), nullptr);
  return dir;
}

class BrokerServerTest : public ::testing::Test {
 protected:
  void StartBroker(const std::string& dir, uint32_t max_in_flight = 2048,
                   bool with_tcp = false, const std::string& tls_cert = "",
                   const std::string& tls_key = "") {
    BrokerOptions options;
    if (with_tcp) {
      options.tcp_address = "127.0.0.1:0";
      options.vm_tokens["tcpvm"] = "sesame";
      options.tls_cert_path = tls_cert;
      options.tls_key_path = tls_key;
    }
    options.socket_path = dir + "/broker.sock";
    options.device_memory_dir = dir + "/pools";
    options.max_faults_in_flight = max_in_flight;
    options.metrics_address = "127.0.0.1:0";
    options.worker_threads = 2;
    options.staging_slots = staging_slots_;
    options.store_url = store_url_;
    options.store_limits = store_limits_;
    if (configure_) configure_(options);
    auto server = BrokerServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = ConnectUnix(options.socket_path);
    broker_ = v1::FaultBroker::NewStub(channel_);
    admin_ = v1::BrokerAdmin::NewStub(channel_);
  }

  void SetUp() override {
    dir_ = FreshDir();
    StartBroker(dir_);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  grpc::Status Attach(const std::string& vm_name,
                      const std::vector<v1::Region>& regions,
                      v1::AttachResponse* response) {
    return AttachThrough(*broker_, vm_name, "", regions, response);
  }

  // An attach through `stub` (over TCP, say) carrying `vm_token`.
  static grpc::Status AttachThrough(v1::FaultBroker::Stub& stub,
                                    const std::string& vm_name,
                                    const std::string& vm_token,
                                    const std::vector<v1::Region>& regions,
                                    v1::AttachResponse* response) {
    v1::AttachRequest request;
    request.set_protocol_version(v1::wire::kProtocolVersion);
    request.set_vm_name(vm_name);
    request.set_vm_token(vm_token);
    for (const auto& region : regions) *request.add_regions() = region;
    grpc::ClientContext context;
    SetDeadline(&context);
    return stub.Attach(&context, request, response);
  }

  // `request` as it is, with protocol v1; the attach must succeed.
  v1::AttachResponse MustAttachRequest(v1::AttachRequest request) {
    request.set_protocol_version(v1::wire::kProtocolVersion);
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::AttachResponse response;
    grpc::Status status = broker_->Attach(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  v1::AttachResponse MustAttach(const std::string& vm_name,
                                const std::vector<v1::Region>& regions) {
    v1::AttachResponse response;
    grpc::Status status = Attach(vm_name, regions, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // A plaintext channel to the broker's TCP port (StartBroker with_tcp).
  std::shared_ptr<grpc::Channel> TcpChannel() {
    return grpc::CreateChannel(server_->tcp_address(),
                               grpc::InsecureChannelCredentials());
  }

  std::unique_ptr<FaultStreamClient> OpenStream(
      const v1::AttachResponse& attached) {
    auto stream = FaultStreamClient::Open(channel_, attached.session_id(),
                                          attached.session_token());
    EXPECT_TRUE(stream.ok()) << stream.status();
    return stream.ok() ? *std::move(stream) : nullptr;
  }

  // Detach of `session_id`, with `token` as the session token.
  grpc::Status Detach(const std::string& session_id, const std::string& token) {
    v1::DetachRequest request;
    request.set_session_id(session_id);
    grpc::ClientContext context;
    SetDeadline(&context);
    context.AddMetadata(v1::wire::kSessionTokenKey, token);
    v1::DetachResponse response;
    return broker_->Detach(&context, request, &response);
  }

  // PutPages of `messages` (store, offset, data each) in one stream.
  grpc::Status PutPages(const std::vector<v1::PutPagesRequest>& messages,
                        v1::PutPagesResponse* response,
                        v1::BrokerAdmin::Stub* admin = nullptr) {
    grpc::ClientContext context;
    SetDeadline(&context);
    auto writer =
        (admin != nullptr ? admin : admin_.get())->PutPages(&context, response);
    for (const v1::PutPagesRequest& message : messages) {
      if (!writer->Write(message)) break;  // Finish() says why.
    }
    writer->WritesDone();
    return writer->Finish();
  }

  v1::ListSessionsResponse Sessions() {
    v1::ListSessionsResponse sessions;
    grpc::ClientContext context;
    SetDeadline(&context);
    EXPECT_TRUE(
        admin_->ListSessions(&context, v1::ListSessionsRequest(), &sessions)
            .ok());
    return sessions;
  }

  grpc::Status Resolve(const v1::AttachResponse& attached, uint32_t region_id,
                       uint64_t offset, v1::FaultAnswer* answer,
                       const std::string& token_override = "") {
    v1::ResolveFaultRequest request;
    request.set_session_id(attached.session_id());
    request.mutable_fault()->set_fault_id(1);
    request.mutable_fault()->set_region_id(region_id);
    request.mutable_fault()->set_offset(offset);
    grpc::ClientContext context;
    SetDeadline(&context);
    context.AddMetadata(
        v1::wire::kSessionTokenKey,
        token_override.empty() ? attached.session_token() : token_override);
    return broker_->ResolveFault(&context, request, answer);
  }

  // Faults written on a stream reach the broker asynchronously; a test that
  // acts on faults "in flight" first waits until the broker holds them.
  void WaitForFaultsInFlight(const std::string& session_id, uint32_t count) {
    const absl::Time deadline = absl::Now() + kWait;
    uint32_t seen = 0;
    while (absl::Now() < deadline) {
      const v1::ListSessionsResponse sessions = Sessions();
      for (const auto& session : sessions.sessions()) {
        if (session.session_id() == session_id)
          seen = session.faults_in_flight();
      }
      if (seen >= count) return;
      absl::SleepFor(absl::Milliseconds(5));
    }
    FAIL() << "session " << session_id << " has " << seen
           << " faults in flight, expected " << count;
  }

  std::string dir_;
  uint32_t staging_slots_ = 1024;
  // Applied to the options of every broker StartBroker starts.
  std::function<void(BrokerOptions&)> configure_;
  // The brokers' store backend and limits (memory and defaults unless set).
  std::string store_url_;
  StoreLimits store_limits_ = BrokerOptions().store_limits;
  std::unique_ptr<BrokerServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::FaultBroker::Stub> broker_;
  std::unique_ptr<v1::BrokerAdmin::Stub> admin_;
};

inline bool PatternMatches(const std::string& data, uint64_t seed,
                           uint64_t guest_frame) {
  if (data.size() != pattern::kPageBytes) return false;
  uint64_t words[pattern::kWordsPerPage];
  std::memcpy(words, data.data(), sizeof(words));
  return pattern::CountMismatches(seed, guest_frame, words) == 0;
}

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SERVER_TEST_FIXTURE_H_
