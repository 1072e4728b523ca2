// Service tests for device frame pools and page stores over a real gRPC
// channel: policies, revocation, restart, PutPages.
#include "broker/server_test_fixture.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

TEST_F(BrokerServerTest, FirstTouchPoolRevocationAndExhaustion) {
  auto attached = MustAttach(
      "vm", {DeviceRegion(1, 0x100000000, 8, "gpu", 2,
                          v1::FRAME_POLICY_FIRST_TOUCH, v1::SHARING_PRIVATE)});
  ASSERT_EQ(attached.regions_size(), 1);
  EXPECT_NE(attached.regions(0).device_memory_path().find("faultline-gpu-"),
            std::string::npos);
  auto stream = OpenStream(attached);
  ASSERT_TRUE(stream->SendFault(1, 1, 0));
  ASSERT_TRUE(stream->SendFault(2, 1, 4096));
  auto first = stream->WaitAnswer(1, kWait);
  auto second = stream->WaitAnswer(2, kWait);
  ASSERT_TRUE(first.has_value() && second.has_value());
  ASSERT_TRUE(first->has_frame() && second->has_frame());
  EXPECT_NE(first->frame().frame(), second->frame().frame());

  ASSERT_TRUE(stream->SendFault(3, 1, 2 * 4096));
  auto exhausted = stream->WaitAnswer(3, kWait);
  ASSERT_TRUE(exhausted.has_value());
  ASSERT_TRUE(exhausted->has_error());
  EXPECT_EQ(exhausted->error().kind(), v1::ERROR_KIND_OUT_OF_MEMORY);
  EXPECT_NE(exhausted->error().message().find("all 2 frames"),
            std::string::npos);

  v1::RevokeFrameRequest revoke;
  revoke.set_session_id(attached.session_id());
  revoke.set_region_id(1);
  revoke.set_offset(0);
  v1::RevokeFrameResponse revoked;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(admin_->RevokeFrame(&context, revoke, &revoked).ok());
  }
  auto revocation = stream->WaitRevocation(kWait);
  ASSERT_TRUE(revocation.has_value());
  EXPECT_EQ(revocation->revocation_id(), revoked.revocation_id());
  EXPECT_EQ(revocation->frame(), first->frame().frame());
  // Until the VMM confirms, the frame is not handed out again.
  ASSERT_TRUE(stream->SendFault(4, 1, 2 * 4096));
  auto still_out = stream->WaitAnswer(4, kWait);
  ASSERT_TRUE(still_out.has_value());
  EXPECT_TRUE(still_out->has_error());
  v1::FaultStreamRequest done;
  done.mutable_revocation_done()->set_revocation_id(revoked.revocation_id());
  ASSERT_TRUE(stream->Send(done));
  // Confirmation and the next fault travel the same stream, in order.
  ASSERT_TRUE(stream->SendFault(5, 1, 2 * 4096));
  auto reused = stream->WaitAnswer(5, kWait);
  ASSERT_TRUE(reused.has_value());
  ASSERT_TRUE(reused->has_frame()) << reused->DebugString();
  EXPECT_EQ(reused->frame().frame(), first->frame().frame());

  {
    grpc::ClientContext context;
    SetDeadline(&context);
    revoke.set_offset(5 * 4096);  // Never touched.
    EXPECT_EQ(admin_->RevokeFrame(&context, revoke, &revoked).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
}

TEST_F(BrokerServerTest, IdentityPoolWrapsAndSharedPoolsMustAgree) {
  auto a = MustAttach(
      "a", {DeviceRegion(1, 0, 8, "shared", 3, v1::FRAME_POLICY_IDENTITY,
                         v1::SHARING_SHARED)});
  v1::FaultAnswer answer;
  ASSERT_TRUE(Resolve(a, 1, 7 * 4096, &answer).ok());
  ASSERT_TRUE(answer.has_frame());
  EXPECT_EQ(answer.frame().frame(), 7u % 3u);
  auto b = MustAttach(
      "b", {DeviceRegion(1, 0, 8, "shared", 3, v1::FRAME_POLICY_IDENTITY,
                         v1::SHARING_SHARED)});
  EXPECT_EQ(a.regions(0).device_memory_path(),
            b.regions(0).device_memory_path());
  v1::AttachResponse refused;
  grpc::Status status =
      Attach("c",
             {DeviceRegion(1, 0, 8, "shared", 5, v1::FRAME_POLICY_IDENTITY,
                           v1::SHARING_SHARED)},
             &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("3 frames"), std::string::npos);
}

TEST_F(BrokerServerTest, RestartedBrokerKeepsPoolContent) {
  const std::string dir = dir_;
  MustAttach("vm", {DeviceRegion(1, 0, 4, "keep", 4, v1::FRAME_POLICY_IDENTITY,
                                 v1::SHARING_SHARED)});
  v1::WriteFramesRequest write;
  write.set_pool("keep");
  write.set_first_frame(2);
  write.set_data(std::string(4096, 'k'));
  v1::WriteFramesResponse written;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(admin_->WriteFrames(&context, write, &written).ok());
  }
  server_->Shutdown();
  server_.reset();
  StartBroker(dir);
  MustAttach("vm", {DeviceRegion(1, 0, 4, "keep", 4, v1::FRAME_POLICY_IDENTITY,
                                 v1::SHARING_SHARED)});
  v1::ReadFramesRequest read;
  read.set_pool("keep");
  read.set_first_frame(2);
  read.set_frame_count(1);
  v1::ReadFramesResponse frames;
  grpc::ClientContext context;
  SetDeadline(&context);
  ASSERT_TRUE(admin_->ReadFrames(&context, read, &frames).ok());
  EXPECT_EQ(frames.data(), std::string(4096, 'k'));
}

TEST_F(BrokerServerTest, StorePagesBusyMissingAndPut) {
  v1::Region region = PatternRegion(1, 0, 4, 0);
  region.mutable_source()->mutable_store()->set_store("disk");
  auto attached = MustAttach("vm", {region});
  v1::FaultAnswer answer;
  ASSERT_TRUE(Resolve(attached, 1, 4096, &answer).ok());
  EXPECT_EQ(answer.retry().reason(), v1::RETRY_REASON_NOT_YET_AVAILABLE);

  v1::PutPagesResponse put;
  v1::PutPagesRequest request;
  request.set_store("disk");
  request.set_offset(4096);
  request.set_data(std::string(4096, 's'));
  ASSERT_TRUE(PutPages({request}, &put).ok());
  EXPECT_EQ(put.pages_written(), 1u);
  ASSERT_TRUE(Resolve(attached, 1, 4096, &answer).ok());
  EXPECT_EQ(answer.page().data(), std::string(4096, 's'));
}

TEST_F(BrokerServerTest, DetachEndsTheStreamAndRemovesPrivatePools) {
  auto attached = MustAttach(
      "vm", {DeviceRegion(1, 0, 4, "mine", 4, v1::FRAME_POLICY_IDENTITY,
                          v1::SHARING_PRIVATE)});
  const std::string path = attached.regions(0).device_memory_path();
  EXPECT_TRUE(std::filesystem::exists(path));
  auto stream = OpenStream(attached);
  ASSERT_TRUE(stream->SendFault(1, 1, 0));
  ASSERT_TRUE(stream->WaitAnswer(1, kWait).has_value());

  ASSERT_TRUE(Detach(attached.session_id(), attached.session_token()).ok());
  grpc::Status ended = stream->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_NE(ended.error_message().find("detached"), std::string::npos);
  stream.reset();
  // The file goes when the broker drops its last reference to the session,
  // which its stream reactor does just after the client saw the status.
  for (int i = 0; i < 1000 && std::filesystem::exists(path); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  v1::FaultAnswer answer;
  EXPECT_EQ(Resolve(attached, 1, 0, &answer).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace faultline::broker
