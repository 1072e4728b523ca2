// Service tests of what the broker accepts: attaches and faults refused
// with the offending value (quoted short, however long it was), bounds on
// every length, the whole 64-bit address space, enum values it does not
// know, and refusals counted as invalid requests.
#include <limits>
#include <string>

#include "broker/server_test_fixture.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

TEST_F(BrokerServerTest, InvalidAttachesAreRefusedWithTheValue) {
  struct Case {
    std::string what;
    v1::Region region;
    std::string expected_text;
  };
  std::vector<Case> cases;
  v1::Region base = PatternRegion(1, 0x1000, 4, 1);
  Case unaligned{"unaligned base", base, "0x1001"};
  unaligned.region.set_guest_physical_base(0x1001);
  cases.push_back(unaligned);
  Case page_size{"page size", base, "page_size 8192"};
  page_size.region.set_page_size(8192);
  cases.push_back(page_size);
  Case empty{"empty", base, "size_bytes 0"};
  empty.region.set_size_bytes(0);
  cases.push_back(empty);
  Case device_source{"device source on RAM", base, "device source"};
  device_source.region.mutable_source()->mutable_device()->set_pool("p");
  cases.push_back(device_source);
  Case no_source{"no source", base, "no kind"};
  no_source.region.clear_source();
  cases.push_back(no_source);
  Case bad_pool{"bad pool",
                DeviceRegion(1, 0, 4, "../x", 4, v1::FRAME_POLICY_IDENTITY,
                             v1::SHARING_SHARED),
                "pool name"};
  cases.push_back(bad_pool);
  for (const Case &c : cases) {
    v1::AttachResponse response;
    grpc::Status status = Attach("vm", {c.region}, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.what;
    EXPECT_NE(status.error_message().find(c.expected_text), std::string::npos)
        << c.what << ": " << status.error_message();
  }
  v1::AttachResponse response;
  grpc::Status overlap =
      Attach("vm", {PatternRegion(1, 0, 4, 1), PatternRegion(2, 0x2000, 4, 1)},
             &response);
  EXPECT_EQ(overlap.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(overlap.error_message().find("overlap"), std::string::npos);
  grpc::Status duplicate =
      Attach("vm", {PatternRegion(1, 0, 4, 1), PatternRegion(1, 0x8000, 4, 1)},
             &response);
  EXPECT_EQ(duplicate.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(duplicate.error_message().find("twice"), std::string::npos);
  v1::Region image = PatternRegion(1, 0, 4, 1);
  image.mutable_source()->mutable_image()->set_path("/no/such/image");
  grpc::Status missing = Attach("vm", {image}, &response);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(missing.error_message().find("/no/such/image"), std::string::npos);

  // Nothing was left behind, and the broker still serves.
  auto attached = MustAttach("vm", {PatternRegion(1, 0, 4, 1)});
  v1::FaultAnswer answer;
  EXPECT_TRUE(Resolve(attached, 1, 0, &answer).ok());
  EXPECT_TRUE(answer.has_page());
}

TEST_F(BrokerServerTest, InvalidFaultsAreRefusedAndOthersStillServed) {
  auto quiet = MustAttach("quiet", {PatternRegion(1, 0, 8, 5)});
  auto bad = MustAttach("bad", {PatternRegion(1, 0, 8, 6)});
  auto stream = OpenStream(bad);
  ASSERT_TRUE(stream->SendFault(1, 7, 0));         // Undeclared region.
  ASSERT_TRUE(stream->SendFault(2, 1, 100));       // Unaligned.
  ASSERT_TRUE(stream->SendFault(3, 1, 8 * 4096));  // Past the end.
  ASSERT_TRUE(stream->SendFault(4, 1, 4096));      // Fine.
  const std::pair<uint64_t, std::string> refused[] = {
      {1, "region_id 7"}, {2, "offset 100"}, {3, "offset 32768"}};
  for (const auto &[id, text] : refused) {
    auto answer = stream->WaitAnswer(id, kWait);
    ASSERT_TRUE(answer.has_value());
    ASSERT_TRUE(answer->has_error());
    EXPECT_EQ(answer->error().kind(), v1::ERROR_KIND_DENIED);
    EXPECT_NE(answer->error().message().find(text), std::string::npos)
        << answer->error().message();
  }
  auto good = stream->WaitAnswer(4, kWait);
  ASSERT_TRUE(good.has_value());
  EXPECT_TRUE(PatternMatches(good->page().data(), 6, 1));

  v1::FaultAnswer answer;
  grpc::Status status = Resolve(bad, 1, 12345, &answer);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("12345"), std::string::npos);

  // A message with nothing set ends only that stream, with a clear error.
  v1::FaultStreamRequest empty;
  ASSERT_TRUE(stream->Send(empty));
  grpc::Status ended = stream->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_TRUE(Resolve(quiet, 1, 0, &answer).ok());
  EXPECT_TRUE(PatternMatches(answer.page().data(), 5, 0));
}

// A refusal quotes the value it refuses, but only a bounded prefix of
// it: a client's default metadata limit (8 KiB) must never turn an
// INVALID_ARGUMENT into a RESOURCE_EXHAUSTED.
TEST_F(BrokerServerTest, LongValuesAreRefusedAndQuotedShort) {
  const std::string huge(20000, 'n');
  constexpr size_t kShort = 600;
  auto expect_short = [&](const grpc::Status &status, grpc::StatusCode code,
                          const std::string &what) {
    EXPECT_EQ(status.error_code(), code)
        << what << ": " << status.error_message().substr(0, 200);
    EXPECT_LT(status.error_message().size(), kShort) << what;
  };
  v1::AttachResponse response;
  v1::Region named = PatternRegion(1, 0, 4, 1);
  named.set_name(huge);
  expect_short(Attach("vm", {named}, &response),
               grpc::StatusCode::INVALID_ARGUMENT, "region name");
  expect_short(Attach(huge, {PatternRegion(1, 0, 4, 1)}, &response),
               grpc::StatusCode::INVALID_ARGUMENT, "vm_name");
  v1::Region image = PatternRegion(1, 0, 4, 1);
  image.mutable_source()->mutable_image()->set_path("/" + huge);
  expect_short(Attach("vm", {image}, &response),
               grpc::StatusCode::INVALID_ARGUMENT, "image path");
  v1::Region store = PatternRegion(1, 0, 4, 1);
  store.mutable_source()->mutable_store()->set_store(huge);
  expect_short(Attach("vm", {store}, &response),
               grpc::StatusCode::INVALID_ARGUMENT, "store name");
  expect_short(Attach("vm",
                      {DeviceRegion(1, 0, 4, huge, 4, v1::FRAME_POLICY_IDENTITY,
                                    v1::SHARING_SHARED)},
                      &response),
               grpc::StatusCode::INVALID_ARGUMENT, "pool name");

  v1::AttachResponse unknown;
  unknown.set_session_id(huge);
  unknown.set_session_token("x");
  v1::FaultAnswer answer;
  expect_short(Resolve(unknown, 1, 0, &answer), grpc::StatusCode::NOT_FOUND,
               "ResolveFault session");
  expect_short(Detach(huge, "x"), grpc::StatusCode::NOT_FOUND,
               "Detach session");
  auto stream = FaultStreamClient::Open(channel_, huge, "x");
  ASSERT_TRUE(stream.ok());
  expect_short((*stream)->Finish(), grpc::StatusCode::NOT_FOUND,
               "StreamOpen session");
  {
    v1::GetStatsRequest request;
    request.set_session_id(huge);
    v1::GetStatsResponse stats;
    grpc::ClientContext context;
    SetDeadline(&context);
    expect_short(admin_->GetStats(&context, request, &stats),
                 grpc::StatusCode::NOT_FOUND, "GetStats session");
  }
  {
    v1::ReadFramesRequest request;
    request.set_pool(huge);
    request.set_frame_count(1);
    v1::ReadFramesResponse frames;
    grpc::ClientContext context;
    SetDeadline(&context);
    expect_short(admin_->ReadFrames(&context, request, &frames),
                 grpc::StatusCode::INVALID_ARGUMENT, "ReadFrames pool");
  }
  {
    v1::InjectionRule rule;
    rule.set_session_id(huge);
    rule.mutable_retry()->set_reason(v1::RETRY_REASON_BUSY);
    v1::SetInjectionResponse set;
    grpc::ClientContext context;
    SetDeadline(&context);
    expect_short(admin_->SetInjection(&context, rule, &set),
                 grpc::StatusCode::NOT_FOUND, "SetInjection session");
  }
}

TEST_F(BrokerServerTest, ARegionMayEndAtTheTopOfTheAddressSpace) {
  constexpr uint64_t kTop = std::numeric_limits<uint64_t>::max() - 4 * 4096 + 1;
  auto attached = MustAttach("topvm", {PatternRegion(1, kTop, 4, 3)});
  v1::FaultAnswer answer;
  ASSERT_TRUE(Resolve(attached, 1, 3 * 4096, &answer).ok());
  EXPECT_TRUE(PatternMatches(answer.page().data(), 3, kTop / 4096 + 3));
  // A region inside it still overlaps it, although its end wraps to 0.
  v1::AttachResponse response;
  grpc::Status overlap = Attach(
      "othervm",
      {PatternRegion(1, kTop, 4, 3), PatternRegion(2, kTop + 8192, 1, 3)},
      &response);
  EXPECT_EQ(overlap.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(overlap.error_message().find("overlap"), std::string::npos)
      << overlap.error_message();
  v1::Region past = PatternRegion(1, kTop, 5, 3);
  grpc::Status wraps = Attach("othervm", {past}, &response);
  EXPECT_EQ(wraps.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(BrokerServerTest, RegionNamesAreUniqueEvenWhenEmpty) {
  v1::Region first = PatternRegion(1, 0, 4, 1);
  v1::Region second = PatternRegion(2, 0x8000, 4, 1);
  first.clear_name();
  second.clear_name();
  v1::AttachResponse response;
  grpc::Status status = Attach("vm", {first, second}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("twice"), std::string::npos)
      << status.error_message();
}

TEST_F(BrokerServerTest, EnumValuesTheBrokerDoesNotKnowAreRefused) {
  v1::AttachResponse response;
  v1::Region policy = DeviceRegion(1, 0, 4, "p", 4, v1::FRAME_POLICY_IDENTITY,
                                   v1::SHARING_SHARED);
  policy.mutable_source()->mutable_device()->set_policy(
      static_cast<v1::FramePolicy>(7));
  grpc::Status bad_policy = Attach("vm", {policy}, &response);
  EXPECT_EQ(bad_policy.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad_policy.error_message().find("policy 7"), std::string::npos)
      << bad_policy.error_message();
  v1::Region sharing = DeviceRegion(1, 0, 4, "p", 4, v1::FRAME_POLICY_IDENTITY,
                                    v1::SHARING_SHARED);
  sharing.mutable_source()->mutable_device()->set_sharing(
      static_cast<v1::Sharing>(9));
  grpc::Status bad_sharing = Attach("vm", {sharing}, &response);
  EXPECT_EQ(bad_sharing.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad_sharing.error_message().find("sharing 9"), std::string::npos)
      << bad_sharing.error_message();
  v1::Region store = PatternRegion(1, 0, 4, 1);
  store.mutable_source()->mutable_store()->set_store("s");
  store.mutable_source()->mutable_store()->set_missing(
      static_cast<v1::StoreSource::Missing>(5));
  grpc::Status bad_missing = Attach("vm", {store}, &response);
  EXPECT_EQ(bad_missing.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad_missing.error_message().find("missing 5"), std::string::npos)
      << bad_missing.error_message();
  // The unspecified values keep their documented meaning.
  v1::Region defaults = DeviceRegion(1, 0, 4, "p", 4, v1::FRAME_POLICY_IDENTITY,
                                     v1::SHARING_SHARED);
  defaults.mutable_source()->mutable_device()->clear_policy();
  defaults.mutable_source()->mutable_device()->clear_sharing();
  EXPECT_TRUE(Attach("vm", {defaults}, &response).ok());
}

TEST_F(BrokerServerTest, RefusedResolveFaultsCountAsInvalidRequests) {
  auto attached = MustAttach("vm", {PatternRegion(1, 0, 4, 1)});
  v1::ResolveFaultRequest request;
  request.set_session_id(attached.session_id());
  v1::FaultAnswer answer;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    context.AddMetadata(v1::wire::kSessionTokenKey, attached.session_token());
    EXPECT_EQ(broker_->ResolveFault(&context, request, &answer).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_EQ(Resolve(attached, 1, 12345, &answer).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::GetStatsRequest stats_request;
  v1::GetStatsResponse stats;
  grpc::ClientContext context;
  SetDeadline(&context);
  ASSERT_TRUE(admin_->GetStats(&context, stats_request, &stats).ok());
  EXPECT_EQ(stats.total().invalid_requests(), 2u) << stats.DebugString();
  ASSERT_EQ(stats.sessions_size(), 1);
  EXPECT_EQ(stats.sessions(0).counters().invalid_requests(), 2u);
}

TEST_F(BrokerServerTest, WatchingAnUnknownSessionIsNotFound) {
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(10));
  v1::WatchFaultsRequest request;
  request.set_session_id("0123456789abcdef");
  auto reader = admin_->WatchFaults(&context, request);
  v1::FaultEvent event;
  EXPECT_FALSE(reader->Read(&event));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
      << status.error_message();
}

}  // namespace
}  // namespace faultline::broker
