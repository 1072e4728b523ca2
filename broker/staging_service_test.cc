// Staging areas through the real service: granted on the Unix socket when
// asked, page answers and prefetched pages in slots, inline bytes when every
// slot is held, bad releases refused and counted (per session and in total,
// in GetStats), the file gone at detach, leftovers of killed brokers swept
// at start.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <utility>

#include "broker/server_test_fixture.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

constexpr uint64_t kSeed = 77;

class StagingServiceTest : public BrokerServerTest {
 protected:
  void SetUp() override {
    dir_ = FreshDir();
    staging_slots_ = 4;
    StartBroker(dir_);
  }

  v1::AttachResponse AttachWithStaging(const std::string &vm_name,
                                       bool want_staging = true) {
    v1::AttachRequest request;
    request.set_vm_name(vm_name);
    request.set_want_staging(want_staging);
    *request.add_regions() = PatternRegion(1, 0x100000, 64, kSeed);
    return MustAttachRequest(std::move(request));
  }

  // The bytes of `slot` as the VMM would read them from the file.
  static std::string ReadSlot(const v1::StagingArea &area, uint32_t slot) {
    std::string bytes(area.slot_size(), '\0');
    const int fd = ::open(area.path().c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0) << area.path();
    if (fd < 0) return "";
    EXPECT_EQ(::pread(fd, bytes.data(), bytes.size(),
                      static_cast<off_t>(slot) * area.slot_size()),
              static_cast<ssize_t>(bytes.size()));
    ::close(fd);
    return bytes;
  }

  static uint64_t Frame(uint64_t offset) { return (0x100000 + offset) / 4096; }

  v1::GetStatsResponse Stats(const std::string &session_id = "") {
    v1::GetStatsRequest request;
    request.set_session_id(session_id);
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::GetStatsResponse response;
    grpc::Status status = admin_->GetStats(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  static v1::StagingCounters SessionStaging(const v1::GetStatsResponse &stats,
                                            const std::string &session_id) {
    for (const v1::SessionStats &session : stats.sessions()) {
      if (session.session_id() == session_id) return session.staging();
    }
    ADD_FAILURE() << "no session " << session_id << " in "
                  << stats.DebugString();
    return v1::StagingCounters();
  }

  static void ExpectCounters(const v1::StagingCounters &counters,
                             uint64_t staged, uint64_t inlined,
                             uint64_t refused, uint32_t slot_count,
                             uint32_t slots_held) {
    EXPECT_EQ(counters.staged_pages(), staged) << counters.DebugString();
    EXPECT_EQ(counters.inline_pages(), inlined) << counters.DebugString();
    EXPECT_EQ(counters.refused_releases(), refused) << counters.DebugString();
    EXPECT_EQ(counters.slot_count(), slot_count) << counters.DebugString();
    EXPECT_EQ(counters.slots_held(), slots_held) << counters.DebugString();
  }

  // Waits until the session's VMM holds `count` slots.
  void WaitForSlotsHeld(const std::string &session_id, uint32_t count) {
    const absl::Time deadline = absl::Now() + kWait;
    uint32_t held = 0;
    while (absl::Now() < deadline) {
      held = SessionStaging(Stats(session_id), session_id).slots_held();
      if (held == count) return;
      absl::SleepFor(absl::Milliseconds(5));
    }
    ADD_FAILURE() << "session " << session_id << " holds " << held
                  << " slots, expected " << count;
  }

  v1::FaultAnswer Ask(FaultStreamClient &stream, uint64_t fault_id,
                      uint64_t offset, uint32_t prefetch = 0,
                      std::vector<uint32_t> releases = {}) {
    v1::FaultStreamRequest request;
    v1::FaultRequest *fault = request.mutable_fault();
    fault->set_fault_id(fault_id);
    fault->set_region_id(1);
    fault->set_offset(offset);
    fault->set_prefetch_hint(prefetch);
    for (uint32_t slot : releases) request.add_released_staging_slots(slot);
    EXPECT_TRUE(stream.Send(request));
    std::optional<v1::FaultAnswer> answer = stream.WaitAnswer(fault_id, kWait);
    EXPECT_TRUE(answer.has_value());
    return answer.value_or(v1::FaultAnswer());
  }
};

TEST_F(StagingServiceTest, AnswersAndPrefetchTravelInSlots) {
  v1::AttachResponse attached = AttachWithStaging("stagevm");
  ASSERT_TRUE(attached.has_staging());
  const v1::StagingArea &area = attached.staging();
  EXPECT_EQ(area.slot_count(), 4u);
  EXPECT_EQ(area.slot_size(), 4096u);
  EXPECT_EQ(area.path(), absl::StrCat(dir_, "/pools/faultline-staging-",
                                      attached.session_id(), "@", ::getpid()));
  EXPECT_EQ(std::filesystem::file_size(area.path()), 4u * 4096u);
  auto stream = OpenStream(attached);
  ASSERT_NE(stream, nullptr);

  v1::FaultAnswer answer = Ask(*stream, 1, 0x3000, /*prefetch=*/2);
  ASSERT_TRUE(answer.page().has_staging_slot()) << answer.DebugString();
  EXPECT_TRUE(PatternMatches(ReadSlot(area, answer.page().staging_slot()),
                             kSeed, Frame(0x3000)));
  ASSERT_EQ(answer.extra_pages_size(), 2);
  for (const v1::ExtraPage &extra : answer.extra_pages()) {
    ASSERT_TRUE(extra.has_staging_slot());
    EXPECT_TRUE(PatternMatches(ReadSlot(area, extra.staging_slot()), kSeed,
                               Frame(extra.offset())));
  }
  EXPECT_EQ(server_->staging_totals().staged_pages.load(), 3u);
}

TEST_F(StagingServiceTest, FullAreaFallsBackInlineAndReleasedSlotsReturn) {
  v1::AttachResponse attached = AttachWithStaging("fullvm");
  auto stream = OpenStream(attached);
  ASSERT_NE(stream, nullptr);
  // Four pages fill the four slots; the fifth goes inline.
  v1::FaultAnswer first = Ask(*stream, 1, 0, /*prefetch=*/3);
  ASSERT_TRUE(first.page().has_staging_slot());
  v1::FaultAnswer inline_answer = Ask(*stream, 2, 0x8000);
  ASSERT_TRUE(inline_answer.page().has_data());
  EXPECT_TRUE(
      PatternMatches(inline_answer.page().data(), kSeed, Frame(0x8000)));
  EXPECT_EQ(server_->staging_totals().inline_pages.load(), 1u);

  // Releasing on the next fault frees the slot before that fault is served.
  const uint32_t slot = first.page().staging_slot();
  v1::FaultAnswer reused = Ask(*stream, 3, 0x9000, 0, {slot});
  ASSERT_TRUE(reused.page().has_staging_slot());
  EXPECT_EQ(reused.page().staging_slot(), slot);
  EXPECT_TRUE(
      PatternMatches(ReadSlot(attached.staging(), slot), kSeed, Frame(0x9000)));
  EXPECT_EQ(server_->staging_totals().refused_releases.load(), 0u);
}

TEST_F(StagingServiceTest, BadReleasesAreRefusedCountedAndIgnored) {
  v1::AttachResponse attached = AttachWithStaging("badvm");
  auto stream = OpenStream(attached);
  ASSERT_NE(stream, nullptr);
  v1::FaultAnswer answer = Ask(*stream, 1, 0);
  ASSERT_TRUE(answer.page().has_staging_slot());
  const uint32_t held = answer.page().staging_slot();
  const uint32_t never_sent = held == 0 ? 1 : 0;

  // Out of range and never sent, on a release-only message.
  v1::FaultStreamRequest release_only;
  release_only.add_released_staging_slots(99);
  release_only.add_released_staging_slots(never_sent);
  ASSERT_TRUE(stream->Send(release_only));
  // Released once (fine), then again in the same message.
  v1::FaultAnswer after = Ask(*stream, 2, 0x2000, 0, {held, held});
  EXPECT_EQ(server_->staging_totals().refused_releases.load(), 3u);
  // The stream carries on and answers stay right.
  ASSERT_TRUE(after.page().has_staging_slot());
  EXPECT_TRUE(
      PatternMatches(ReadSlot(attached.staging(), after.page().staging_slot()),
                     kSeed, Frame(0x2000)));
}

TEST_F(StagingServiceTest, NoAreaUnlessAskedAndReleasesThenRefused) {
  v1::AttachResponse attached = AttachWithStaging("plainvm", false);
  EXPECT_FALSE(attached.has_staging());
  auto stream = OpenStream(attached);
  ASSERT_NE(stream, nullptr);
  v1::FaultAnswer answer = Ask(*stream, 1, 0, 0, {0});
  ASSERT_TRUE(answer.page().has_data());
  EXPECT_TRUE(PatternMatches(answer.page().data(), kSeed, Frame(0)));
  EXPECT_EQ(server_->staging_totals().refused_releases.load(), 1u);
  EXPECT_EQ(server_->staging_totals().staged_pages.load(), 0u);
}

TEST_F(StagingServiceTest, GetStatsCountsStagingPerSessionAndInTotal) {
  v1::AttachResponse staged = AttachWithStaging("countvm");
  v1::AttachResponse plain = AttachWithStaging("nostagevm", false);
  auto stream = OpenStream(staged);
  auto plain_stream = OpenStream(plain);
  ASSERT_NE(stream, nullptr);
  ASSERT_NE(plain_stream, nullptr);
  ExpectCounters(SessionStaging(Stats(), staged.session_id()), 0, 0, 0, 4, 0);

  // Four pages fill the four slots, the fifth goes inline; one slot comes
  // back with a bad release beside it and is used again.
  v1::FaultAnswer first = Ask(*stream, 1, 0, /*prefetch=*/3);
  ASSERT_TRUE(first.page().has_staging_slot());
  ASSERT_TRUE(Ask(*stream, 2, 0x8000).page().has_data());
  ASSERT_TRUE(Ask(*stream, 3, 0x9000, 0, {first.page().staging_slot(), 99})
                  .page()
                  .has_staging_slot());
  // A session without an area: its release is refused, its page inline.
  ASSERT_TRUE(Ask(*plain_stream, 1, 0, 0, {0}).page().has_data());

  v1::GetStatsResponse stats = Stats();
  ExpectCounters(SessionStaging(stats, staged.session_id()), 5, 1, 1, 4, 4);
  ExpectCounters(SessionStaging(stats, plain.session_id()), 0, 0, 1, 0, 0);
  ExpectCounters(stats.staging_total(), 5, 1, 2, 0, 0);
  // One session asked for: its own counters, the total as before.
  v1::GetStatsResponse one = Stats(staged.session_id());
  ASSERT_EQ(one.sessions_size(), 1);
  ExpectCounters(one.sessions(0).staging(), 5, 1, 1, 4, 4);
  ExpectCounters(one.staging_total(), 5, 1, 2, 0, 0);

  // The total keeps a detached session's counts.
  stream->Finish();
  ASSERT_TRUE(Detach(staged.session_id(), staged.session_token()).ok());
  stats = Stats();
  EXPECT_EQ(stats.sessions_size(), 1);
  ExpectCounters(stats.staging_total(), 5, 1, 2, 0, 0);
  plain_stream->Finish();
}

TEST_F(StagingServiceTest, StartSweepsLeftoversAndKeepsLiveBrokersFiles) {
  // This broker is live and holds its session's area.
  v1::AttachResponse attached = AttachWithStaging("livevm");
  ASSERT_TRUE(attached.has_staging());
  // A broker killed with SIGKILL left its area behind: full size, unlocked,
  // named with its session and (long gone) pid.
  const std::string pools = dir_ + "/pools";
  const std::string leftover =
      pools + "/faultline-staging-0123456789abcdef@4194305";
  {
    const int fd = ::open(leftover.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 4 * 4096), 0);
    ::close(fd);
  }

  // A second broker starts on the same directory.
  BrokerOptions options;
  options.socket_path = dir_ + "/second.sock";
  options.device_memory_dir = pools;
  options.worker_threads = 1;
  auto second = BrokerServer::Start(options);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->swept_staging_files(), 1);
  EXPECT_FALSE(std::filesystem::exists(leftover));
  EXPECT_TRUE(std::filesystem::exists(attached.staging().path()));
  second->reset();

  // The live broker's area still serves.
  auto stream = OpenStream(attached);
  ASSERT_NE(stream, nullptr);
  v1::FaultAnswer answer = Ask(*stream, 1, 0x5000);
  ASSERT_TRUE(answer.page().has_staging_slot());
  EXPECT_TRUE(
      PatternMatches(ReadSlot(attached.staging(), answer.page().staging_slot()),
                     kSeed, Frame(0x5000)));
}

TEST_F(StagingServiceTest, ResolveFaultKeepsInlineBytes) {
  v1::AttachResponse attached = AttachWithStaging("unaryvm");
  ASSERT_TRUE(attached.has_staging());
  v1::FaultAnswer answer;
  ASSERT_TRUE(Resolve(attached, 1, 0x4000, &answer).ok());
  ASSERT_TRUE(answer.page().has_data());
  EXPECT_TRUE(PatternMatches(answer.page().data(), kSeed, Frame(0x4000)));
}

TEST_F(StagingServiceTest, DetachRemovesTheFile) {
  v1::AttachResponse attached = AttachWithStaging("gonevm");
  ASSERT_TRUE(attached.has_staging());
  ASSERT_TRUE(std::filesystem::exists(attached.staging().path()));
  ASSERT_TRUE(Detach(attached.session_id(), attached.session_token()).ok());
  EXPECT_FALSE(std::filesystem::exists(attached.staging().path()));
}

TEST_F(StagingServiceTest, StoppingTheBrokerRemovesTheFiles) {
  v1::AttachResponse attached = AttachWithStaging("stopvm");
  auto stream = OpenStream(attached);
  ASSERT_NE(stream, nullptr);
  Ask(*stream, 1, 0);
  ASSERT_TRUE(std::filesystem::exists(attached.staging().path()));
  server_.reset();  // shuts down with the session still attached
  stream->Finish();
  EXPECT_FALSE(std::filesystem::exists(attached.staging().path()));
}

TEST_F(StagingServiceTest, ANewStreamFreesTheOldStreamsSlots) {
  v1::AttachResponse attached = AttachWithStaging("reconnectvm");
  auto stream = OpenStream(attached);
  ASSERT_NE(stream, nullptr);
  v1::FaultAnswer held = Ask(*stream, 1, 0, /*prefetch=*/3);
  ASSERT_TRUE(held.page().has_staging_slot());
  stream->Finish();
  stream.reset();
  // The VMM reconnected: every slot is free for the new stream, and the
  // old stream's slot numbers are not its to release.
  auto again = OpenStream(attached);
  ASSERT_NE(again, nullptr);
  WaitForSlotsHeld(attached.session_id(), 0);
  v1::FaultAnswer fresh = Ask(*again, 2, 0x10000, /*prefetch=*/3);
  ASSERT_TRUE(fresh.page().has_staging_slot());
  for (const v1::ExtraPage &extra : fresh.extra_pages()) {
    EXPECT_TRUE(extra.has_staging_slot());
  }
  EXPECT_TRUE(
      PatternMatches(ReadSlot(attached.staging(), fresh.page().staging_slot()),
                     kSeed, Frame(0x10000)));
}

// One live stream per session: a second StreamOpen ends the first stream
// (ABORTED), and the first stream's slots are free again only once it has
// ended, so no page meant for the second stream is ever written into a slot
// the first one's VMM may still be reading.
TEST_F(StagingServiceTest, ASecondStreamEndsTheFirstBeforeItsSlotsAreReused) {
  v1::AttachResponse attached = AttachWithStaging("twostreams");
  auto first = OpenStream(attached);
  ASSERT_NE(first, nullptr);
  v1::FaultAnswer held = Ask(*first, 1, 0, /*prefetch=*/3);
  ASSERT_TRUE(held.page().has_staging_slot());
  const uint32_t slot = held.page().staging_slot();

  auto second = OpenStream(attached);
  ASSERT_NE(second, nullptr);
  v1::FaultAnswer answer = Ask(*second, 2, 0x10000);
  ASSERT_TRUE(first->WaitEnded(kWait)) << "the first stream is still live";
  grpc::Status ended = first->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_NE(ended.error_message().find("new Faults stream"), std::string::npos)
      << ended.error_message();
  // Answered while the first stream may still have been live: inline then
  // (it held every slot), or in a slot it gave up by ending; either way the
  // second stream's page is right. That no slot goes to the second stream
  // before the first has ended is staging_area_test's
  // AnOldEpochKeepsItsSlotsUntilItEnds.
  EXPECT_TRUE(PatternMatches(
      answer.page().has_staging_slot()
          ? ReadSlot(attached.staging(), answer.page().staging_slot())
          : answer.page().data(),
      kSeed, Frame(0x10000)));
  // The first stream's page is still in its slot if the second did not
  // get that slot after the first ended.
  if (!answer.page().has_staging_slot() ||
      answer.page().staging_slot() != slot) {
    EXPECT_TRUE(
        PatternMatches(ReadSlot(attached.staging(), slot), kSeed, Frame(0)));
  }
  // Once the first stream is over its four slots come back to the second.
  WaitForSlotsHeld(attached.session_id(), answer.page().has_staging_slot());
  v1::FaultAnswer later = Ask(*second, 3, 0x20000, /*prefetch=*/2);
  ASSERT_TRUE(later.page().has_staging_slot()) << later.DebugString();
  EXPECT_TRUE(
      PatternMatches(ReadSlot(attached.staging(), later.page().staging_slot()),
                     kSeed, Frame(0x20000)));
  EXPECT_TRUE(second->Finish().ok());
}

}  // namespace
}  // namespace faultline::broker
