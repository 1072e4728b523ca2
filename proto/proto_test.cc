#include <cstdint>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "proto/faultline/v1/broker.grpc.pb.h"
#include "proto/faultline/v1/broker.pb.h"
#include "proto/guest_abi.h"
#include "proto/pattern.h"

namespace faultline {
namespace {

using v1::FaultAnswer;
using v1::FaultStreamRequest;
using v1::FaultStreamResponse;

FaultAnswer RoundTrip(const FaultAnswer& answer) {
  std::string wire;
  EXPECT_TRUE(answer.SerializeToString(&wire));
  FaultAnswer parsed;
  EXPECT_TRUE(parsed.ParseFromString(wire));
  return parsed;
}

FaultAnswer AnswerFor(uint64_t fault_id) {
  FaultAnswer answer;
  answer.set_fault_id(fault_id);
  answer.set_region_id(3);
  answer.set_offset(0x5000);
  return answer;
}

TEST(ProtocolV1, PageAnswerRoundTrips) {
  FaultAnswer answer = AnswerFor(1);
  answer.mutable_page()->set_data(std::string(4096, '\x5a'));
  FaultAnswer parsed = RoundTrip(answer);
  ASSERT_EQ(parsed.answer_case(), FaultAnswer::kPage);
  EXPECT_EQ(parsed.page().data(), std::string(4096, '\x5a'));
  EXPECT_EQ(parsed.offset(), 0x5000u);
}

TEST(ProtocolV1, StagingSlotPageRoundTrips) {
  FaultAnswer answer = AnswerFor(2);
  answer.mutable_page()->set_staging_slot(17);
  FaultAnswer parsed = RoundTrip(answer);
  ASSERT_EQ(parsed.page().content_case(), v1::PageAnswer::kStagingSlot);
  EXPECT_EQ(parsed.page().staging_slot(), 17u);
}

TEST(ProtocolV1, ZeroAnswerRoundTrips) {
  FaultAnswer answer = AnswerFor(3);
  answer.mutable_zero();
  EXPECT_EQ(RoundTrip(answer).answer_case(), FaultAnswer::kZero);
}

TEST(ProtocolV1, FrameAnswerRoundTrips) {
  FaultAnswer answer = AnswerFor(4);
  answer.mutable_frame()->set_frame(123456789);
  FaultAnswer parsed = RoundTrip(answer);
  ASSERT_EQ(parsed.answer_case(), FaultAnswer::kFrame);
  EXPECT_EQ(parsed.frame().frame(), 123456789u);
}

TEST(ProtocolV1, RetryAnswerRoundTripsEveryReason) {
  for (int reason = v1::RETRY_REASON_INTERRUPTED;
       reason <= v1::RETRY_REASON_OVER_QUOTA; ++reason) {
    FaultAnswer answer = AnswerFor(5);
    answer.mutable_retry()->set_reason(static_cast<v1::RetryReason>(reason));
    answer.mutable_retry()->set_delay_hint_us(250);
    answer.mutable_retry()->set_detail("page is being written");
    FaultAnswer parsed = RoundTrip(answer);
    ASSERT_EQ(parsed.answer_case(), FaultAnswer::kRetry);
    EXPECT_EQ(parsed.retry().reason(), reason);
    EXPECT_EQ(parsed.retry().delay_hint_us(), 250u);
    EXPECT_EQ(parsed.retry().detail(), "page is being written");
  }
}

TEST(ProtocolV1, ErrorAnswerRoundTripsEveryKind) {
  for (int kind = v1::ERROR_KIND_BUS_ERROR; kind <= v1::ERROR_KIND_DENIED;
       ++kind) {
    FaultAnswer answer = AnswerFor(6);
    answer.mutable_error()->set_kind(static_cast<v1::ErrorKind>(kind));
    answer.mutable_error()->set_message("image read failed at byte 8192");
    FaultAnswer parsed = RoundTrip(answer);
    ASSERT_EQ(parsed.answer_case(), FaultAnswer::kError);
    EXPECT_EQ(parsed.error().kind(), kind);
    EXPECT_EQ(parsed.error().message(), "image read failed at byte 8192");
  }
}

TEST(ProtocolV1, UnknownEnumValueSurvivesParsing) {
  FaultAnswer answer = AnswerFor(7);
  answer.mutable_retry()->set_reason(static_cast<v1::RetryReason>(42));
  EXPECT_EQ(static_cast<int>(RoundTrip(answer).retry().reason()), 42);
}

TEST(ProtocolV1, StreamResponseWithExtraPagesRoundTrips) {
  FaultStreamResponse response;
  FaultAnswer* answer = response.mutable_answer();
  *answer = AnswerFor(8);
  answer->mutable_page()->set_data(std::string(4096, '\x01'));
  for (int i = 1; i <= 3; ++i) {
    v1::ExtraPage* extra = answer->add_extra_pages();
    extra->set_offset(0x5000 + i * 4096);
    extra->set_data(std::string(4096, static_cast<char>(i + 1)));
  }
  answer->add_extra_pages()->mutable_zero();

  std::string wire;
  ASSERT_TRUE(response.SerializeToString(&wire));
  FaultStreamResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  ASSERT_EQ(parsed.message_case(), FaultStreamResponse::kAnswer);
  ASSERT_EQ(parsed.answer().extra_pages_size(), 4);
  EXPECT_EQ(parsed.answer().extra_pages(2).offset(), 0x5000u + 3 * 4096);
  EXPECT_EQ(parsed.answer().extra_pages(2).data(), std::string(4096, '\x04'));
  EXPECT_EQ(parsed.answer().extra_pages(3).content_case(),
            v1::ExtraPage::kZero);
}

TEST(ProtocolV1, StreamRequestCarriesFaultAndReleasedSlots) {
  FaultStreamRequest request;
  v1::FaultRequest* fault = request.mutable_fault();
  fault->set_fault_id(99);
  fault->set_region_id(1);
  fault->set_offset(0x200000);
  fault->set_access(v1::ACCESS_KIND_WRITE);
  fault->set_vcpu(2);
  fault->set_attempt(3);
  request.add_released_staging_slots(4);
  std::string wire;
  ASSERT_TRUE(request.SerializeToString(&wire));
  FaultStreamRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.fault().access(), v1::ACCESS_KIND_WRITE);
  EXPECT_EQ(parsed.fault().attempt(), 3u);
  EXPECT_EQ(parsed.released_staging_slots(0), 4u);
}

TEST(ProtocolV1, ServicesAreGenerated) {
  EXPECT_STREQ(v1::FaultBroker::service_full_name(),
               "faultline.v1.FaultBroker");
  EXPECT_STREQ(v1::BrokerAdmin::service_full_name(),
               "faultline.v1.BrokerAdmin");
}

TEST(Pattern, DependsOnSeedFrameAndWord) {
  std::set<uint64_t> words;
  for (uint64_t seed : {0ull, 1ull}) {
    for (uint64_t frame : {0ull, 1ull, 0x40000ull}) {
      for (uint64_t word : {0ull, 1ull, 511ull}) {
        words.insert(pattern::Word(seed, frame, word));
      }
    }
  }
  EXPECT_EQ(words.size(), 18u);
}

TEST(Pattern, FillAndCheckAgree) {
  uint64_t page[pattern::kWordsPerPage];
  pattern::FillPage(7, 300, page);
  EXPECT_EQ(pattern::CountMismatches(7, 300, page), 0u);
  page[100] ^= 1;
  EXPECT_EQ(pattern::CountMismatches(7, 300, page), 1u);
  EXPECT_EQ(pattern::CountMismatches(8, 300, page), pattern::kWordsPerPage);
}

// Pins the formula: guests built from older sources must keep verifying.
TEST(Pattern, FormulaIsStable) {
  EXPECT_EQ(pattern::Mix(0), 0u);
  EXPECT_EQ(pattern::Word(0, 0, 0),
            pattern::Mix(pattern::Mix(0x9E3779B97F4A7C15ull)));
}

TEST(GuestAbi, LayoutFitsTogether) {
  using namespace guest_abi;
  EXPECT_LT(kBootInfoAddress + sizeof(BootInfo), kGdtAddress + 1);
  EXPECT_LE(
      kPageTableAddress + (2 + kIdentityMapBytes / (1ull << 30)) * kPageBytes,
      kPayloadMinAddress);
  EXPECT_LE(kMaxRamBytes, kPciMemRegistersBarAddress);
  EXPECT_LE(kPciMemWindowBarAddress + kMaxPciMemWindowBytes, kIdentityMapBytes);
}

}  // namespace
}  // namespace faultline
