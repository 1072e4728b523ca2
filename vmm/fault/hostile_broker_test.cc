// The fault engine against a broker that lies (vmm/testing's FakeBroker):
// wrong sizes and echoes, frames outside the device, staging slots outside
// the area, answers for faults not in flight, answers sent twice and after
// a reconnect, bad revocations. Each is counted (rejected or stale), the
// fault is asked again, and nothing wrong reaches guest memory.
#include <cstring>
#include <map>

#include "vmm/fault/fault_engine_test_fixture.h"
#include "vmm/testing/fake_broker.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;
using ::testing::Contains;
using ::testing::Not;

// The pattern page at `offset` of the RAM region (seed 5), as bytes.
std::string GoodPage(uint64_t offset) {
  std::string page(kPage, '\0');
  pattern::FillPage(5, (kRamBase + offset) / kPage,
                    reinterpret_cast<uint64_t*>(page.data()));
  return page;
}

v1::FaultStreamResponse Answer(const v1::FaultRequest& fault) {
  v1::FaultStreamResponse response;
  v1::FaultAnswer* answer = response.mutable_answer();
  answer->set_fault_id(fault.fault_id());
  answer->set_region_id(fault.region_id());
  answer->set_offset(fault.offset());
  return response;
}

v1::FaultStreamResponse GoodAnswer(const v1::FaultRequest& fault) {
  v1::FaultStreamResponse response = Answer(fault);
  response.mutable_answer()->mutable_page()->set_data(GoodPage(fault.offset()));
  return response;
}

std::vector<v1::FaultStreamResponse> One(v1::FaultStreamResponse response) {
  return {std::move(response)};
}

// Counts the asks of each fault the fake has seen: 1 for the first. (The
// first ask may already be attempt 2: sent before the stream was open, it
// goes out again when it opens.)
class AskCounter {
 public:
  int Next(const v1::FaultRequest& fault) {
    absl::MutexLock lock(&mutex_);
    return ++asks_[fault.fault_id()];
  }

 private:
  absl::Mutex mutex_;
  std::map<uint64_t, int> asks_ ABSL_GUARDED_BY(mutex_);
};

// Whether the fake saw a fault request for `offset` of `region`.
bool Asked(const std::vector<FakeBroker::StreamLog>& streams, uint32_t region,
           uint64_t offset) {
  for (const FakeBroker::StreamLog& stream : streams) {
    for (const v1::FaultRequest& fault : stream.faults) {
      if (fault.region_id() == region && fault.offset() == offset) return true;
    }
  }
  return false;
}

class HostileBrokerTest : public FaultEngineTest {
 protected:
  HostileBrokerTest() { starts_real_broker_ = false; }

  void TearDown() override {
    FaultEngineTest::TearDown();
    fake_.reset();
  }

  void StartFake(FakeBroker::Options options = {}) {
    auto fake = FakeBroker::Start(options);
    ASSERT_TRUE(fake.ok()) << fake.status();
    fake_ = *std::move(fake);
  }

  absl::Status StartEngineOnFake(std::vector<v1::Region> regions) {
    return StartEngineOn(fake_->target(), std::move(regions));
  }

  // Touches one page from a new thread and waits for it (bounded).
  void Touch(uint32_t region_id, uint64_t page) {
    TouchInBackground(region_id, page, 1, 1);
    JoinTouchers();
  }

  v1::Region Device(uint64_t pages) {
    v1::Region window;
    window.set_region_id(kDeviceId);
    window.set_name("pcimem");
    window.set_kind(v1::REGION_KIND_DEVICE_MEMORY);
    window.set_guest_physical_base(abi::kPciMemWindowBarAddress);
    window.set_size_bytes(pages * kPage);
    window.set_page_size(kPage);
    window.mutable_source()->mutable_device()->set_pool("fake");
    return window;
  }

  // Outlives every script call: the fake goes after the engine.
  AskCounter asks_;
  std::unique_ptr<FakeBroker> fake_;
};

TEST_F(HostileBrokerTest, MalformedAnswersAreRejectedAndNeverInstalled) {
  StartFake();
  fake_->set_script([this](const v1::FaultRequest& fault) {
    v1::FaultStreamResponse response = GoodAnswer(fault);
    v1::FaultAnswer* answer = response.mutable_answer();
    if (fault.offset() != 0) return One(response);
    switch (asks_.Next(fault)) {
      case 1:  // a page one byte short
        answer->mutable_page()->set_data(std::string(kPage - 1, 'X'));
        break;
      case 2:  // the answer names another page
        answer->set_offset(kPage);
        answer->mutable_page()->set_data(std::string(kPage, 'X'));
        break;
      case 3:  // ... or another region
        answer->set_region_id(9);
        break;
      case 4:  // a frame for RAM
        answer->mutable_frame()->set_frame(0);
        break;
      case 5: {  // a good page with an extra page of 3 bytes
        v1::ExtraPage* extra = answer->add_extra_pages();
        extra->set_offset(2 * kPage);
        extra->set_data("XYZ");
        break;
      }
      case 6: {  // zeroes with an extra page outside the region
        answer->mutable_zero();
        v1::ExtraPage* extra = answer->add_extra_pages();
        extra->set_offset(16 * kPage);
        extra->mutable_zero();
        break;
      }
      default: {  // right, with a right extra page
        v1::ExtraPage* extra = answer->add_extra_pages();
        extra->set_offset(3 * kPage);
        extra->set_data(GoodPage(3 * kPage));
      }
    }
    return One(response);
  });
  ASSERT_TRUE(StartEngineOnFake({RamRegion(16, Pattern(5))}).ok());
  Touch(kRamId, 0);
  Touch(kRamId, 3);  // prefetched: no fault
  Touch(kRamId, 2);  // the short extra page was never installed: it faults
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  // (Reading page 1 here would fault it in: it is not checked.)
  EXPECT_EQ(PatternMismatches(5, 0, 1), 0u);
  EXPECT_EQ(PatternMismatches(5, 2, 2), 0u);
  EXPECT_EQ(stats.rejected_answers, 6u);
  EXPECT_EQ(stats.retries, 0u) << "rejections are not retry answers";
  EXPECT_EQ(stats.faults, 2u);
  EXPECT_EQ(stats.pages, 2u);
  EXPECT_EQ(stats.extra_pages, 1u);
  const std::vector<FakeBroker::StreamLog> streams = fake_->streams();
  EXPECT_TRUE(Asked(streams, kRamId, 2 * kPage));
  EXPECT_FALSE(Asked(streams, kRamId, 3 * kPage));
  for (int ask = 1; ask < 7; ++ask) {
    EXPECT_EQ(streams[0].faults[ask].offset(), 0u);
    EXPECT_EQ(streams[0].faults[ask].attempt(),
              streams[0].faults[ask - 1].attempt() + 1)
        << "asked again each time";
  }
  EXPECT_FALSE(WaitForFatal(absl::ZeroDuration()).has_value());
  EXPECT_EQ(fake_->calls_without_token(), 0);
}

TEST_F(HostileBrokerTest, AnswersForFaultsNotInFlightAreStaleAndIgnored) {
  StartFake();
  fake_->set_script([](const v1::FaultRequest& fault) {
    // Every answer twice: the second finds its fault resolved.
    return std::vector<v1::FaultStreamResponse>{GoodAnswer(fault),
                                                GoodAnswer(fault)};
  });
  ASSERT_TRUE(StartEngineOnFake({RamRegion(16, Pattern(5))}).ok());
  ASSERT_TRUE(fake_->WaitFor(
      [](const std::vector<FakeBroker::StreamLog>& streams) {
        return !streams.empty();
      },
      absl::Seconds(10)));
  // An answer nobody asked for, with wrong bytes, for page 5.
  v1::FaultRequest unasked;
  unasked.set_fault_id(999);
  unasked.set_region_id(kRamId);
  unasked.set_offset(5 * kPage);
  v1::FaultStreamResponse bogus = Answer(unasked);
  bogus.mutable_answer()->mutable_page()->set_data(std::string(kPage, 'X'));
  ASSERT_TRUE(fake_->Push(bogus));
  Touch(kRamId, 1);
  Touch(kRamId, 5);
  EXPECT_EQ(PatternMismatches(5, 1, 1), 0u);
  EXPECT_EQ(PatternMismatches(5, 5, 1), 0u) << "the unasked page stayed out";
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(stats.pages, 2u);
  EXPECT_GE(stats.stale_answers, 2u);
  EXPECT_EQ(stats.already_resolved, 0u) << "stale answers install nothing";
  EXPECT_EQ(stats.rejected_answers, 0u);
}

TEST_F(HostileBrokerTest, AnAnswerFromAnOldStreamsFaultIsStaleAfterResend) {
  StartFake();
  fake_->set_script([this](const v1::FaultRequest& fault) {
    if (asks_.Next(fault) == 1) return std::vector<v1::FaultStreamResponse>{};
    // The resend on the new stream, answered twice.
    return std::vector<v1::FaultStreamResponse>{GoodAnswer(fault),
                                                GoodAnswer(fault)};
  });
  ASSERT_TRUE(StartEngineOnFake({RamRegion(16, Pattern(5))}).ok());
  TouchInBackground(kRamId, 4, 1, 1);
  ASSERT_TRUE(fake_->WaitFor(
      [](const std::vector<FakeBroker::StreamLog>& streams) {
        return !streams.empty() && !streams[0].faults.empty();
      },
      absl::Seconds(10)));
  fake_->BreakStream();
  JoinTouchers();
  EXPECT_EQ(PatternMismatches(5, 4, 1), 0u);
  // The second answer may still be on its way when the first has woken the
  // toucher.
  for (int i = 0; i < 500 && engine_->stats().Snapshot().stale_answers == 0;
       ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_GE(stats.reconnects, 1u);
  EXPECT_EQ(stats.resent, 1u);
  EXPECT_EQ(stats.pages, 1u);
  EXPECT_GE(stats.stale_answers, 1u);
  const std::vector<FakeBroker::StreamLog> streams = fake_->streams();
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_EQ(streams[1].faults[0].fault_id(), streams[0].faults[0].fault_id())
      << "resent with the same id";
  EXPECT_EQ(streams[1].faults[0].attempt(), streams[0].faults[0].attempt() + 1);
}

TEST_F(HostileBrokerTest, SlotsOutsideTheAreaAreRejectedAndNeverReleased) {
  FakeBroker::Options options;
  options.staging_slots = 4;
  StartFake(options);
  ASSERT_TRUE(fake_->StageSlot(2, GoodPage(kPage)).ok());
  fake_->set_script([this](const v1::FaultRequest& fault) {
    v1::FaultStreamResponse response = Answer(fault);
    response.mutable_answer()->mutable_page()->set_staging_slot(
        asks_.Next(fault) == 1 ? 7 : 2);
    return One(response);
  });
  ASSERT_TRUE(StartEngineOnFake({RamRegion(16, Pattern(5))}).ok());
  Touch(kRamId, 1);
  EXPECT_EQ(PatternMismatches(5, 1, 1), 0u);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(stats.rejected_answers, 1u);
  EXPECT_EQ(stats.staged_pages, 1u);
  // The good slot goes back (the reader flushes it alone); slot 7 never.
  ASSERT_TRUE(fake_->WaitFor(
      [](const std::vector<FakeBroker::StreamLog>& streams) {
        return !streams.empty() && !streams[0].released_slots.empty();
      },
      absl::Seconds(10)));
  EXPECT_EQ(fake_->streams()[0].released_slots, std::vector<uint32_t>{2});
}

TEST_F(HostileBrokerTest, BadFramesAndRevocationsAreRejected) {
  FakeBroker::Options options;
  options.device_frames = 2;
  StartFake(options);
  fake_->set_script([this](const v1::FaultRequest& fault) {
    v1::FaultStreamResponse response = Answer(fault);
    v1::FaultAnswer* answer = response.mutable_answer();
    const int ask = asks_.Next(fault);
    if (fault.fault_id() == 1 && ask == 1) {
      answer->mutable_frame()->set_frame(5);  // the device has 2
    } else if (fault.fault_id() == 1 && ask == 2) {
      answer->mutable_page()->set_data(std::string(kPage, 'X'));
    } else {
      answer->mutable_frame()->set_frame(1);
    }
    return One(response);
  });
  ASSERT_TRUE(StartEngineOnFake({Device(4)}).ok());
  ASSERT_TRUE(fake_->WriteFrame(kDeviceId, 1, std::string(kPage, '\x77')).ok());
  uint8_t* bar = Host(kDeviceId);
  Touch(kDeviceId, 0);
  EXPECT_EQ(bar[0], 0x77);
  EXPECT_EQ(engine_->stats().Snapshot().rejected_answers, 2u);

  // Revocations of no device page are refused, and nothing is unmapped.
  struct Bad {
    uint32_t region;
    uint64_t offset;
  };
  for (const Bad& bad : {Bad{kRamId, 0}, Bad{kDeviceId, 1},
                         Bad{kDeviceId, 4 * kPage}, Bad{7, 0}}) {
    v1::FaultStreamResponse revocation;
    revocation.mutable_revocation()->set_revocation_id(100 + bad.region);
    revocation.mutable_revocation()->set_region_id(bad.region);
    revocation.mutable_revocation()->set_offset(bad.offset);
    ASSERT_TRUE(fake_->Push(revocation));
  }
  v1::FaultStreamResponse good;
  good.mutable_revocation()->set_revocation_id(42);
  good.mutable_revocation()->set_region_id(kDeviceId);
  good.mutable_revocation()->set_offset(0);
  ASSERT_TRUE(fake_->Push(good));
  ASSERT_TRUE(fake_->WaitFor(
      [](const std::vector<FakeBroker::StreamLog>& streams) {
        return !streams.empty() && !streams[0].revocations_done.empty();
      },
      absl::Seconds(10)));
  EXPECT_EQ(fake_->streams()[0].revocations_done, std::vector<uint64_t>{42});
  FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(stats.rejected_answers, 6u);
  EXPECT_EQ(stats.revocations, 1u);

  // The revoked page faults again and is mapped again.
  Touch(kDeviceId, 0);
  EXPECT_EQ(bar[0], 0x77);
  stats = engine_->stats().Snapshot();
  EXPECT_EQ(stats.frames, 2u);
  EXPECT_EQ(stats.faults, 2u);
  const std::vector<DevicePageEvent> events = DevicePages();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, DevicePageEvent::Kind::kAvailable);
  EXPECT_EQ(events[0].frame, 1u);
  EXPECT_EQ(events[1].kind, DevicePageEvent::Kind::kRevoked);
  EXPECT_EQ(events[1].offset, 0u);
  EXPECT_EQ(events[2].kind, DevicePageEvent::Kind::kAvailable);
  EXPECT_THAT(fake_->streams()[0].revocations_done, Not(Contains(100u + 7)));
}

TEST_F(HostileBrokerTest, TheDeviceHearsWhatBecameOfItsPages) {
  StartFake();
  fake_->set_script([this](const v1::FaultRequest& fault) {
    v1::FaultStreamResponse response = Answer(fault);
    if (fault.offset() == 3 * kPage) {
      response.mutable_answer()->mutable_error()->set_kind(
          v1::ERROR_KIND_DENIED);
    } else if (asks_.Next(fault) == 1) {
      response.mutable_answer()->mutable_retry()->set_reason(
          v1::RETRY_REASON_NOT_YET_AVAILABLE);
    } else {
      response.mutable_answer()->mutable_frame()->set_frame(0);
    }
    return One(response);
  });
  ASSERT_TRUE(StartEngineOnFake({Device(4)}).ok());
  Touch(kDeviceId, 2);
  std::vector<DevicePageEvent> events = DevicePages();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, DevicePageEvent::Kind::kPending);
  EXPECT_EQ(events[0].offset, 2 * kPage);
  EXPECT_EQ(events[0].retry_reason, v1::RETRY_REASON_NOT_YET_AVAILABLE);
  EXPECT_EQ(events[1].kind, DevicePageEvent::Kind::kAvailable);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(stats.retries_by_reason.at(v1::RETRY_REASON_NOT_YET_AVAILABLE), 1u);

  // An error stops the VM (no poisoning asked for); the toucher is
  // released when the engine goes.
  TouchInBackground(kDeviceId, 3, 1, 1);
  const std::optional<StopReason> stop = WaitForFatal(absl::Seconds(10));
  ASSERT_TRUE(stop.has_value());
  EXPECT_EQ(stop->kind, StopKind::kBrokerErrorAnswer);
  EXPECT_EQ(stop->page, abi::kPciMemWindowBarAddress + 3 * kPage);
  events = DevicePages();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].kind, DevicePageEvent::Kind::kError);
  EXPECT_EQ(events[2].offset, 3 * kPage);
  EXPECT_EQ(events[2].error_kind, v1::ERROR_KIND_DENIED);
}

}  // namespace
}  // namespace faultline::vmm
