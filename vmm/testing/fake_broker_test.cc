// The fake broker itself, driven by a plain gRPC client: it attaches with
// the grants it was asked for, answers as scripted, pushes what the test
// sends, and records what the client sent on each stream.
#include "vmm/testing/fake_broker.h"

#include <grpcpp/grpcpp.h>

#include "gtest/gtest.h"
#include "proto/faultline/v1/broker.grpc.pb.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::vmm {
namespace {

namespace wire = ::faultline::v1::wire;

TEST(FakeBrokerTest, AnswersAsScriptedAndRecordsTheStream) {
  FakeBroker::Options options;
  options.staging_slots = 4;
  auto broker = FakeBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  (*broker)->set_script([](const v1::FaultRequest& fault) {
    v1::FaultStreamResponse response;
    response.mutable_answer()->set_fault_id(fault.fault_id());
    response.mutable_answer()->mutable_zero();
    return std::vector<v1::FaultStreamResponse>{response, response};
  });
  auto stub = v1::FaultBroker::NewStub(grpc::CreateChannel(
      (*broker)->target(), grpc::InsecureChannelCredentials()));

  v1::AttachRequest attach;
  attach.set_want_staging(true);
  v1::Region* device = attach.add_regions();
  device->set_region_id(2);
  device->set_kind(v1::REGION_KIND_DEVICE_MEMORY);
  v1::AttachResponse session;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub->Attach(&context, attach, &session).ok());
  }
  EXPECT_EQ(session.staging().slot_count(), 4u);
  ASSERT_EQ(session.regions_size(), 1);
  EXPECT_EQ(session.regions(0).device_frame_count(), 8u);
  EXPECT_TRUE((*broker)->StageSlot(3, std::string(wire::kPageBytes, 'x')).ok());
  EXPECT_FALSE(
      (*broker)->StageSlot(4, std::string(wire::kPageBytes, 'x')).ok());

  grpc::ClientContext context;
  context.AddMetadata(wire::kSessionTokenKey, session.session_token());
  auto stream = stub->Faults(&context);
  v1::FaultStreamRequest request;
  request.mutable_open()->set_session_id(session.session_id());
  ASSERT_TRUE(stream->Write(request));
  request.Clear();
  request.mutable_fault()->set_fault_id(7);
  request.add_released_staging_slots(3);
  ASSERT_TRUE(stream->Write(request));
  v1::FaultStreamResponse response;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.answer().fault_id(), 7u);
  }
  v1::FaultStreamResponse pushed;
  pushed.mutable_revocation()->set_revocation_id(5);
  EXPECT_TRUE((*broker)->Push(pushed));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.revocation().revocation_id(), 5u);

  ASSERT_TRUE((*broker)->WaitFor(
      [](const std::vector<FakeBroker::StreamLog>& streams) {
        return streams.size() == 1 && streams[0].faults.size() == 1;
      },
      absl::Seconds(10)));
  const std::vector<FakeBroker::StreamLog> streams = (*broker)->streams();
  EXPECT_EQ(streams[0].released_slots, std::vector<uint32_t>{3});
  EXPECT_EQ((*broker)->calls_without_token(), 0);

  (*broker)->BreakStream();
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_FALSE(stream->Finish().ok());
}

}  // namespace
}  // namespace faultline::vmm
