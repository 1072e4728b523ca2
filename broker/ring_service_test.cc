// The fault ring through the real service, over the Unix socket and the
// real staging file, this test playing the VMM with the protocol's own
// ring code: page, zero, frame, retry and error answers through the ring
// (and what does not fit a record on the stream), the same checks as the
// stream (a fault outside its region is denied), and garbage from the VMM
// (a bad record, an index out of range) ending the stream with an error
// that names it, after which the session's ring is refused.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <utility>

#include "broker/server_test_fixture.h"
#include "broker/test_ring.h"
#include "gmock/gmock.h"
#include "proto/base/shared_ring.h"
#include "proto/faultline/v1/fault_ring.h"
#include "proto/faultline/v1/fault_ring_codec.h"

namespace faultline::broker {
namespace {

namespace ring = ::faultline::v1::ring;

constexpr uint64_t kSeed = 91;
constexpr uint32_t kPatternId = 1;
constexpr uint32_t kZeroId = 2;
constexpr uint32_t kDeviceId = 3;
constexpr uint64_t kGeneration = testing::kRingGeneration;
using testing::TestRing;

// Page `page` of the pattern region as the source fills it.
std::string PatternPage(uint64_t page) {
  std::vector<uint64_t> words(pattern::kWordsPerPage);
  pattern::FillPage(kSeed, 0x100000 / v1::wire::kPageBytes + page,
                    words.data());
  return std::string(reinterpret_cast<const char*>(words.data()),
                     v1::wire::kPageBytes);
}

class RingServiceTest : public BrokerServerTest {
 protected:
  v1::AttachResponse AttachWithRing(const std::string& vm_name) {
    v1::AttachRequest request;
    request.set_vm_name(vm_name);
    request.set_want_staging(true);
    request.set_want_fault_ring(true);
    *request.add_regions() = PatternRegion(kPatternId, 0x100000, 64, kSeed);
    v1::Region zero;
    zero.set_region_id(kZeroId);
    zero.set_name("zero");
    zero.set_kind(v1::REGION_KIND_RAM);
    zero.set_guest_physical_base(0x200000);
    zero.set_size_bytes(16 * v1::wire::kPageBytes);
    zero.set_page_size(v1::wire::kPageBytes);
    zero.mutable_source()->mutable_zero();
    *request.add_regions() = zero;
    *request.add_regions() =
        DeviceRegion(kDeviceId, 0x400000, 8, "ringpool", 8,
                     v1::FRAME_POLICY_IDENTITY, v1::SHARING_PRIVATE);
    return MustAttachRequest(std::move(request));
  }

  std::unique_ptr<FaultStreamClient> OpenRingStream(
      const v1::AttachResponse& attached, uint64_t generation = kGeneration) {
    auto stream = FaultStreamClient::Open(channel_, attached.session_id(),
                                          attached.session_token(), generation);
    EXPECT_TRUE(stream.ok()) << stream.status();
    return stream.ok() ? *std::move(stream) : nullptr;
  }

  void Inject(v1::InjectionRule rule) {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::SetInjectionResponse response;
    ASSERT_TRUE(admin_->SetInjection(&context, rule, &response).ok());
  }

  uint64_t InvalidRequests(const std::string& session_id) {
    v1::GetStatsRequest request;
    request.set_session_id(session_id);
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::GetStatsResponse stats;
    EXPECT_TRUE(admin_->GetStats(&context, request, &stats).ok());
    for (const v1::SessionStats& session : stats.sessions()) {
      if (session.session_id() == session_id) {
        return session.counters().invalid_requests();
      }
    }
    return 0;
  }
};

TEST_F(RingServiceTest, EveryKindOfAnswerComesThroughTheRing) {
  const v1::AttachResponse attached = AttachWithRing("ringvm");
  ASSERT_TRUE(attached.staging().has_fault_ring());
  EXPECT_EQ(attached.staging().fault_ring().layout_version(),
            ring::kLayoutVersion);
  TestRing vmm(attached.staging());
  auto stream = OpenRingStream(attached);
  ASSERT_NE(stream, nullptr);

  // A page and its prefetch, every page in a slot, byte for byte.
  vmm.Ask(1, kPatternId, 4 * v1::wire::kPageBytes, 3);
  std::optional<v1::FaultAnswer> page = vmm.Next();
  ASSERT_TRUE(page.has_value());
  ASSERT_TRUE(page->has_page());
  EXPECT_EQ(page->fault_id(), 1u);
  ASSERT_EQ(page->extra_pages_size(), 3);
  EXPECT_EQ(vmm.Slot(page->page().staging_slot()), PatternPage(4));
  EXPECT_EQ(vmm.Slot(page->extra_pages(2).staging_slot()), PatternPage(7));

  // Zero, with zero prefetch; its slots released through the ring.
  std::vector<uint32_t> held = {page->page().staging_slot()};
  for (const v1::ExtraPage& extra : page->extra_pages()) {
    held.push_back(extra.staging_slot());
  }
  vmm.Ask(2, kZeroId, 0, 2, held);
  std::optional<v1::FaultAnswer> zero = vmm.Next();
  ASSERT_TRUE(zero.has_value());
  EXPECT_TRUE(zero->has_zero());
  EXPECT_EQ(zero->extra_pages_size(), 2);
  EXPECT_TRUE(zero->extra_pages(1).has_zero());

  // A frame of the device pool (identity: page 5 is frame 5).
  vmm.Ask(3, kDeviceId, 5 * v1::wire::kPageBytes);
  std::optional<v1::FaultAnswer> frame = vmm.Next();
  ASSERT_TRUE(frame.has_value());
  ASSERT_TRUE(frame->has_frame());
  EXPECT_EQ(frame->frame().frame(), 5u);

  // Injected retry and error, with their words.
  v1::InjectionRule retry;
  retry.set_session_id(attached.session_id());
  retry.set_region_id(kPatternId);
  retry.set_first_offset(10 * v1::wire::kPageBytes);
  retry.set_last_offset(10 * v1::wire::kPageBytes);
  retry.mutable_retry()->set_reason(v1::RETRY_REASON_BUSY);
  retry.mutable_retry()->set_delay_hint_us(250);
  retry.mutable_retry()->set_detail("being written");
  Inject(retry);
  v1::InjectionRule error;
  error.set_session_id(attached.session_id());
  error.set_region_id(kPatternId);
  error.set_first_offset(11 * v1::wire::kPageBytes);
  error.set_last_offset(11 * v1::wire::kPageBytes);
  error.mutable_error()->set_kind(v1::ERROR_KIND_BUS_ERROR);
  error.mutable_error()->set_message("disk on fire");
  Inject(error);
  vmm.Ask(4, kPatternId, 10 * v1::wire::kPageBytes);
  std::optional<v1::FaultAnswer> retried = vmm.Next();
  ASSERT_TRUE(retried.has_value());
  ASSERT_TRUE(retried->has_retry());
  EXPECT_EQ(retried->retry().reason(), v1::RETRY_REASON_BUSY);
  EXPECT_EQ(retried->retry().delay_hint_us(), 250u);
  EXPECT_EQ(retried->retry().detail(), "being written");
  vmm.Ask(5, kPatternId, 11 * v1::wire::kPageBytes);
  std::optional<v1::FaultAnswer> failed = vmm.Next();
  ASSERT_TRUE(failed.has_value());
  ASSERT_TRUE(failed->has_error());
  EXPECT_EQ(failed->error().kind(), v1::ERROR_KIND_BUS_ERROR);
  EXPECT_EQ(failed->error().message(), "disk on fire");

  // The same check as on the stream: a page outside the region is denied,
  // counted as invalid, and the stream carries on.
  vmm.Ask(6, kPatternId, 64 * v1::wire::kPageBytes);
  // Its words decide whether it fits a record: either way will do.
  std::optional<v1::FaultAnswer> denied;
  for (const absl::Time deadline = absl::Now() + kWait;
       !denied.has_value() && absl::Now() < deadline;) {
    denied = vmm.Next(absl::Milliseconds(20));
    if (!denied.has_value()) {
      denied = stream->WaitAnswer(6, absl::Milliseconds(20));
    }
  }
  ASSERT_TRUE(denied.has_value());
  ASSERT_TRUE(denied->has_error());
  EXPECT_EQ(denied->error().kind(), v1::ERROR_KIND_DENIED);
  EXPECT_EQ(InvalidRequests(attached.session_id()), 1u);
  vmm.Ask(7, kPatternId, 0);
  std::optional<v1::FaultAnswer> after = vmm.Next();
  ASSERT_TRUE(after.has_value());
  EXPECT_TRUE(after->has_page());
  EXPECT_FALSE(stream->WaitEnded(absl::ZeroDuration()));
}

TEST_F(RingServiceTest, AGarbageRecordEndsTheStreamAndTheRing) {
  const v1::AttachResponse attached = AttachWithRing("garbagevm");
  TestRing vmm(attached.staging());
  auto stream = OpenRingStream(attached);
  ASSERT_NE(stream, nullptr);
  vmm.Ask(1, kPatternId, 0);
  ASSERT_TRUE(vmm.Next().has_value());

  ring::RequestRecord garbage = ring::EncodeRequest(kGeneration, nullptr, {});
  garbage.kind = 99;
  vmm.Put(garbage);
  ASSERT_TRUE(stream->WaitEnded(kWait));
  const grpc::Status ended = stream->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ended.error_message(), ::testing::HasSubstr("kind 99"));
  EXPECT_EQ(InvalidRequests(attached.session_id()), 1u);

  // The session's ring is refused from then on; the stream alone works.
  auto again = OpenRingStream(attached, kGeneration + 1);
  ASSERT_NE(again, nullptr);
  ASSERT_TRUE(again->WaitEnded(kWait));
  const grpc::Status refused = again->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("kind 99"));
  auto plain = OpenStream(attached);
  ASSERT_NE(plain, nullptr);
  ASSERT_TRUE(plain->SendFault(2, kPatternId, 0));
  std::optional<v1::FaultAnswer> answer = plain->WaitAnswer(2, kWait);
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->has_page());
}

TEST_F(RingServiceTest, IndicesOutOfRangeEndTheStreamNamingThem) {
  const v1::AttachResponse attached = AttachWithRing("indexvm");
  TestRing vmm(attached.staging());
  auto stream = OpenRingStream(attached);
  ASSERT_NE(stream, nullptr);
  // A producer index far past anything the ring can hold.
  StoreShared(&vmm.header()->request_tail.value, 100000);
  FutexWake(&vmm.header()->request_tail.value);
  ASSERT_TRUE(stream->WaitEnded(kWait));
  const grpc::Status ended = stream->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ended.error_message(),
              ::testing::HasSubstr("ring producer index 100000"));
}

TEST_F(RingServiceTest, AnAnswerIndexOutOfRangeSendsAnswersOnTheStream) {
  const v1::AttachResponse attached = AttachWithRing("answerindexvm");
  TestRing vmm(attached.staging());
  auto stream = OpenRingStream(attached);
  ASSERT_NE(stream, nullptr);
  // The VMM claims to have read answers the broker never wrote.
  StoreShared(&vmm.header()->answer_head.value, 7777);
  vmm.Ask(1, kPatternId, 0);
  // The broker writes nothing into the ring: the answer comes on the
  // stream, then the stream ends naming the index.
  std::optional<v1::FaultAnswer> answer = stream->WaitAnswer(1, kWait);
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->has_page());
  EXPECT_EQ(vmm.header()->answer_tail.value, 0u);
  ASSERT_TRUE(stream->WaitEnded(kWait));
  const grpc::Status ended = stream->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ended.error_message(),
              ::testing::HasSubstr("ring consumer index 7777"));
}

TEST_F(RingServiceTest, BadReleasesAndOtherStreamsRecordsChangeNothing) {
  const v1::AttachResponse attached = AttachWithRing("releasevm");
  TestRing vmm(attached.staging(), 5);
  auto stream = OpenRingStream(attached, 5);
  ASSERT_NE(stream, nullptr);
  // Slots outside the area or never handed out: refused and counted, as on
  // the stream; a record of an older stream: dropped.
  vmm.Ask(1, kPatternId, 0, 0, {999999, 3});
  std::optional<v1::FaultAnswer> answer = vmm.Next();
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->has_page());
  v1::FaultRequest old;
  old.set_fault_id(2);
  old.set_region_id(kPatternId);
  vmm.Put(ring::EncodeRequest(4, &old, {}));
  EXPECT_FALSE(stream->WaitAnswer(2, absl::Milliseconds(200)).has_value());
  ring::RequestRecord too_many = ring::EncodeRequest(5, nullptr, {});
  too_many.release_count = ring::kReleasesPerRecord + 1;
  vmm.Put(too_many);
  ASSERT_TRUE(stream->WaitEnded(kWait));
  EXPECT_THAT(stream->Finish().error_message(),
              ::testing::HasSubstr("release_count"));
}

// A session at its faults-in-flight limit is not read, ring or stream: its
// requests wait in the ring (the broker's index stays), the pause is
// counted, and the ring is read on once answers complete.
TEST_F(RingServiceTest, OverQuotaTheRingIsNotReadUntilAnswersComplete) {
  server_.reset();
  StartBroker(dir_, /*max_in_flight=*/2);
  const v1::AttachResponse attached = AttachWithRing("quotavm");
  TestRing vmm(attached.staging());
  auto stream = OpenRingStream(attached);
  ASSERT_NE(stream, nullptr);
  v1::InjectionRule slow;
  slow.set_session_id(attached.session_id());
  slow.set_region_id(kPatternId);
  slow.set_delay_us(300'000);
  Inject(slow);
  for (uint64_t id = 1; id <= 6; ++id) {
    vmm.Ask(id, kPatternId, id * v1::wire::kPageBytes);
  }
  WaitForFaultsInFlight(attached.session_id(), 2);
  absl::SleepFor(absl::Milliseconds(100));
  // Two taken, the third waits with the rest.
  EXPECT_LE(LoadShared(&vmm.header()->request_head.value), 3u);
  for (int answered = 0; answered < 6; ++answered) {
    std::optional<v1::FaultAnswer> answer = vmm.Next();
    ASSERT_TRUE(answer.has_value());
    EXPECT_TRUE(answer->has_page()) << answer->DebugString();
  }
  v1::GetStatsRequest request;
  request.set_session_id(attached.session_id());
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::GetStatsResponse stats;
  ASSERT_TRUE(admin_->GetStats(&context, request, &stats).ok());
  ASSERT_EQ(stats.sessions_size(), 1);
  EXPECT_GT(stats.sessions(0).counters().reads_paused(), 0u);
  EXPECT_EQ(stats.sessions(0).counters().retries(), 0u);  // none over quota
}

}  // namespace
}  // namespace faultline::broker
