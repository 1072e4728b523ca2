// --preload_ram against the fake broker: pages and their prefetched pages
// arrive as loaded pages, retry answers are asked again, and an answer the
// fault engine would reject stops the preload (the same checks).
#include "vmm/ram_preload.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/faultline/v1/wire.h"
#include "vmm/testing/fake_broker.h"

namespace faultline::vmm {
namespace {

namespace wire = ::faultline::v1::wire;
using ::testing::HasSubstr;

constexpr uint64_t kPages = 16;

class RamPreloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = FakeBroker::Start({});
    ASSERT_TRUE(fake.ok()) << fake.status();
    fake_ = *std::move(fake);
    MemoryLayout layout;
    ASSERT_TRUE(layout
                    .Add({1, "ram", RegionKind::kRam, 0x200000,
                          kPages * wire::kPageBytes})
                    .ok());
    auto memory = GuestMemory::Create(layout);
    ASSERT_TRUE(memory.ok());
    memory_ = *std::move(memory);
    FaultEngine::Options options;
    options.transport.session.target = fake_->target();
    options.transport.session.vm_name = "vm";
    options.sources[1].mutable_zero();
    auto engine = FaultEngine::Create(memory_.get(), options, nullptr);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
  }

  absl::StatusOr<uint64_t> Preload() {
    RamPreloadOptions options;
    options.target = fake_->target();
    options.vm_name = "vm";
    options.ram = engine_->regions()[0];
    options.retry.deadline = absl::Seconds(10);
    return PreloadRam(options, engine_.get());
  }

  // Page `offset` filled with its page number.
  static std::string PageFor(uint64_t offset) {
    return std::string(wire::kPageBytes,
                       static_cast<char>(offset / wire::kPageBytes));
  }

  std::unique_ptr<FakeBroker> fake_;
  std::unique_ptr<GuestMemory> memory_;
  std::unique_ptr<FaultEngine> engine_;
};

v1::FaultStreamResponse AnswerFor(const v1::FaultRequest& fault) {
  v1::FaultStreamResponse response;
  response.mutable_answer()->set_fault_id(fault.fault_id());
  response.mutable_answer()->set_region_id(fault.region_id());
  response.mutable_answer()->set_offset(fault.offset());
  return response;
}

TEST_F(RamPreloadTest, LoadsEveryPageAndItsPrefetch) {
  fake_->set_script([](const v1::FaultRequest& fault) {
    v1::FaultStreamResponse response = AnswerFor(fault);
    if (fault.attempt() == 1 && fault.offset() == 0) {
      response.mutable_answer()->mutable_retry()->set_delay_hint_us(100);
      return std::vector<v1::FaultStreamResponse>{response};
    }
    response.mutable_answer()->mutable_page()->set_data(
        PageFor(fault.offset()));
    // Up to 7 more pages, the last of them zero.
    for (uint64_t next = fault.offset() + wire::kPageBytes;
         next < kPages * wire::kPageBytes &&
         next <= fault.offset() + 7 * wire::kPageBytes;
         next += wire::kPageBytes) {
      v1::ExtraPage* extra = response.mutable_answer()->add_extra_pages();
      extra->set_offset(next);
      if (next == fault.offset() + 7 * wire::kPageBytes) {
        extra->mutable_zero();
      } else {
        extra->set_data(PageFor(next));
      }
    }
    return std::vector<v1::FaultStreamResponse>{response};
  });
  absl::StatusOr<uint64_t> loaded = Preload();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, kPages);
  const uint8_t* ram = memory_->FindRegion(1)->host_base();
  EXPECT_EQ(ram[3 * wire::kPageBytes], 3);
  EXPECT_EQ(ram[7 * wire::kPageBytes], 0) << "a zero extra page";
  EXPECT_EQ(ram[8 * wire::kPageBytes + 100], 8);
  EXPECT_EQ(engine_->stats().Snapshot().loaded_pages, kPages);
  EXPECT_EQ(engine_->stats().Snapshot().faults, 0u);
  EXPECT_EQ(fake_->calls_without_token(), 0);
}

TEST_F(RamPreloadTest, AnAnswerAFaultWouldRejectStopsThePreload) {
  fake_->set_script([](const v1::FaultRequest& fault) {
    v1::FaultStreamResponse response = AnswerFor(fault);
    response.mutable_answer()->mutable_page()->set_data(
        std::string(wire::kPageBytes, 'x'));
    v1::ExtraPage* extra = response.mutable_answer()->add_extra_pages();
    extra->set_offset(fault.offset());  // the faulting page again
    extra->mutable_zero();
    return std::vector<v1::FaultStreamResponse>{response};
  });
  absl::StatusOr<uint64_t> loaded = Preload();
  ASSERT_FALSE(loaded.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(loaded.status())) << loaded.status();
  EXPECT_THAT(std::string(loaded.status().message()),
              HasSubstr("extra page repeats the faulting page"));
  EXPECT_EQ(engine_->stats().Snapshot().loaded_pages, 0u);
  EXPECT_EQ(fake_->detaches(), 1) << "the preload session is given back";
}

}  // namespace
}  // namespace faultline::vmm
