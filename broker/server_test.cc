// Service tests over a real gRPC channel on a Unix socket: the data path,
// quotas, injection, watch and shutdown. Identity and the other listeners
// are in access_service_test.cc, validation in validation_service_test.cc.
#include <unistd.h>

#include <thread>

#include "broker/server_test_fixture.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

TEST_F(BrokerServerTest, ThousandFaultsInFlightAcrossFourSessions) {
  constexpr int kSessions = 4;
  constexpr uint64_t kPages = 300;  // 1200 faults in flight in total.
  constexpr uint64_t kBase = 0x200000;
  std::vector<v1::AttachResponse> attached;
  std::vector<std::unique_ptr<FaultStreamClient>> streams;
  for (int s = 0; s < kSessions; ++s) {
    attached.push_back(MustAttach(absl::StrCat("vm", s),
                                  {PatternRegion(1, kBase, kPages, 100 + s)}));
    streams.push_back(OpenStream(attached.back()));
    ASSERT_NE(streams.back(), nullptr);
  }
  // Every fault is sent before any answer is awaited, interleaved across
  // sessions, in an order that is not the region's.
  for (uint64_t i = 0; i < kPages; ++i) {
    const uint64_t page = (i * 7) % kPages;
    for (int s = 0; s < kSessions; ++s) {
      ASSERT_TRUE(streams[s]->SendFault(1000 + page, 1, page * 4096));
    }
  }
  for (int s = 0; s < kSessions; ++s) {
    for (uint64_t page = 0; page < kPages; ++page) {
      auto answer = streams[s]->WaitAnswer(1000 + page, kWait);
      ASSERT_TRUE(answer.has_value()) << "session " << s << " page " << page;
      ASSERT_TRUE(answer->has_page()) << answer->DebugString();
      EXPECT_EQ(answer->offset(), page * 4096);
      EXPECT_EQ(answer->region_id(), 1u);
      EXPECT_TRUE(
          PatternMatches(answer->page().data(), 100 + s, kBase / 4096 + page))
          << "session " << s << " page " << page;
    }
  }
  for (auto& stream : streams) EXPECT_TRUE(stream->Finish().ok());

  v1::GetStatsRequest request;
  v1::GetStatsResponse stats;
  grpc::ClientContext context;
  SetDeadline(&context);
  ASSERT_TRUE(admin_->GetStats(&context, request, &stats).ok());
  EXPECT_EQ(stats.total().pages(), kSessions * kPages);
  EXPECT_EQ(stats.total().bytes_served(), kSessions * kPages * 4096);
  EXPECT_EQ(stats.sessions_size(), kSessions);
}

TEST_F(BrokerServerTest, ClientThatDoesNotReadIsPausedNotBuffered) {
  auto attached = MustAttach("vm", {PatternRegion(1, 0, 16, 1)});
  auto stub = v1::FaultBroker::NewStub(channel_);
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(120));
  context.AddMetadata(v1::wire::kSessionTokenKey, attached.session_token());
  auto stream = stub->Faults(&context);
  // Far more faults than the broker queues for a stream (8192): it stops
  // reading them until the client reads its answers.
  constexpr int kFaults = 30000;
  std::thread writer([&] {
    v1::FaultStreamRequest open;
    open.mutable_open()->set_session_id(attached.session_id());
    if (!stream->Write(open)) return;
    for (int i = 0; i < kFaults; ++i) {
      v1::FaultStreamRequest request;
      request.mutable_fault()->set_fault_id(i);
      request.mutable_fault()->set_region_id(1);
      request.mutable_fault()->set_offset((i % 16) * 4096);
      if (!stream->Write(request)) return;
    }
    stream->WritesDone();
  });
  absl::SleepFor(absl::Milliseconds(500));  // Let the queue fill up.
  int answers = 0;
  v1::FaultStreamResponse response;
  while (answers < kFaults && stream->Read(&response)) ++answers;
  writer.join();
  EXPECT_EQ(answers, kFaults);
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(BrokerServerTest, PrefetchStopsAtRegionEnd) {
  auto attached = MustAttach("vm", {PatternRegion(1, 0, 4, 9)});
  auto stream = OpenStream(attached);
  ASSERT_TRUE(stream->SendFault(1, 1, 2 * 4096, /*prefetch_hint=*/8));
  auto answer = stream->WaitAnswer(1, kWait);
  ASSERT_TRUE(answer.has_value());
  ASSERT_TRUE(answer->has_page());
  ASSERT_EQ(answer->extra_pages_size(), 1);
  EXPECT_EQ(answer->extra_pages(0).offset(), 3 * 4096u);
  EXPECT_TRUE(PatternMatches(answer->extra_pages(0).data(), 9, 3));
}

TEST_F(BrokerServerTest, InjectedRetriesErrorsAndDelays) {
  auto attached = MustAttach("vm", {PatternRegion(1, 0, 16, 3)});
  auto inject = [&](v1::InjectionRule rule) {
    rule.set_session_id(attached.session_id());
    rule.set_region_id(1);
    v1::SetInjectionResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status = admin_->SetInjection(&context, rule, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.rule_id();
  };
  v1::InjectionRule retry;
  retry.set_first_offset(0);
  retry.set_last_offset(4096);
  retry.set_count(2);
  retry.mutable_retry()->set_reason(v1::RETRY_REASON_BUSY);
  retry.mutable_retry()->set_delay_hint_us(77);
  inject(retry);
  v1::InjectionRule error;
  error.set_first_offset(8 * 4096);
  error.set_last_offset(8 * 4096);
  error.set_count(1);
  error.mutable_error()->set_kind(v1::ERROR_KIND_BUS_ERROR);
  error.mutable_error()->set_message("injected");
  inject(error);

  v1::FaultAnswer answer;
  ASSERT_TRUE(Resolve(attached, 1, 4096, &answer).ok());
  EXPECT_EQ(answer.retry().reason(), v1::RETRY_REASON_BUSY);
  EXPECT_EQ(answer.retry().delay_hint_us(), 77u);
  ASSERT_TRUE(Resolve(attached, 1, 0, &answer).ok());
  EXPECT_TRUE(answer.has_retry());
  ASSERT_TRUE(Resolve(attached, 1, 0, &answer).ok());
  EXPECT_TRUE(answer.has_page()) << "count of 2 is used up";
  ASSERT_TRUE(Resolve(attached, 1, 8 * 4096, &answer).ok());
  EXPECT_EQ(answer.error().kind(), v1::ERROR_KIND_BUS_ERROR);
  EXPECT_EQ(answer.error().message(), "injected");
  ASSERT_TRUE(Resolve(attached, 1, 8 * 4096, &answer).ok());
  EXPECT_TRUE(answer.has_page());

  // Delayed faults wait on a timer, not on the workers: with more delayed
  // faults than workers, another session is still served at once. The
  // delay is far longer than the test; shutdown answers them INTERRUPTED.
  auto other = MustAttach("other", {PatternRegion(1, 0, 16, 4)});
  v1::InjectionRule delay;
  delay.set_first_offset(4096);
  delay.set_last_offset(4 * 4096);
  delay.set_count(4);
  delay.set_delay_us(50'000'000);
  inject(delay);
  auto stream = OpenStream(attached);
  for (uint64_t i = 1; i <= 4; ++i)
    ASSERT_TRUE(stream->SendFault(i, 1, i * 4096));
  ASSERT_TRUE(Resolve(other, 1, 0, &answer).ok());
  EXPECT_TRUE(answer.has_page());
  ASSERT_TRUE(Resolve(attached, 1, 5 * 4096, &answer).ok());
  EXPECT_TRUE(answer.has_page()) << "outside the delayed range";
  WaitForFaultsInFlight(attached.session_id(), 4);
  server_->Shutdown();
  for (uint64_t i = 1; i <= 4; ++i) {
    auto delayed = stream->WaitAnswer(i, kWait);
    ASSERT_TRUE(delayed.has_value());
    ASSERT_TRUE(delayed->has_retry());
    EXPECT_EQ(delayed->retry().reason(), v1::RETRY_REASON_INTERRUPTED);
  }
}

TEST_F(BrokerServerTest, WatchSeesAnsweredFaults) {
  auto attached = MustAttach("vm", {PatternRegion(1, 0, 4, 1)});
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::WatchFaultsRequest request;
  auto reader = admin_->WatchFaults(&context, request);
  // Headers arrive once the watch is subscribed.
  reader->WaitForInitialMetadata();
  v1::FaultAnswer answer;
  ASSERT_TRUE(Resolve(attached, 1, 4096, &answer).ok());
  v1::FaultEvent event;
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.session_id(), attached.session_id());
  EXPECT_EQ(event.answer_kind(), "page");
  EXPECT_EQ(event.fault().offset(), 4096u);
  context.TryCancel();
  reader->Finish();
}

TEST_F(BrokerServerTest, ShutdownEndsOpenStreams) {
  auto attached = MustAttach("vm", {PatternRegion(1, 0, 4, 1)});
  auto stream = OpenStream(attached);
  ASSERT_TRUE(stream->SendFault(1, 1, 0));
  ASSERT_TRUE(stream->WaitAnswer(1, kWait).has_value());
  server_->Shutdown();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace faultline::broker
