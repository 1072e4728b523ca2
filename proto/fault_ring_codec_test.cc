// The fault ring's records to and from v1's messages: what fits a record
// comes back the same, what does not is refused at encoding, and every field
// a peer could set out of range is refused at decoding with its name.
#include "proto/faultline/v1/fault_ring_codec.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::v1::ring {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kPage = wire::kPageBytes;

FaultAnswer RoundTrip(const FaultAnswer& answer) {
  AnswerRecord record;
  EXPECT_TRUE(EncodeAnswer(answer, 7, &record));
  uint64_t generation = 0;
  absl::StatusOr<FaultAnswer> back = DecodeAnswer(record, &generation);
  EXPECT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(generation, 7u);
  return back.value_or(FaultAnswer());
}

TEST(FaultRingCodecTest, EveryAnswerKindComesBackTheSame) {
  FaultAnswer page;
  page.set_fault_id(9);
  page.set_region_id(2);
  page.set_offset(4 * kPage);
  page.mutable_page()->set_staging_slot(17);
  ExtraPage* staged = page.add_extra_pages();
  staged->set_offset(5 * kPage);
  staged->set_staging_slot(18);
  ExtraPage* zero = page.add_extra_pages();
  zero->set_offset(6 * kPage);
  zero->mutable_zero();
  EXPECT_EQ(RoundTrip(page).DebugString(), page.DebugString());

  FaultAnswer frame;
  frame.mutable_frame()->set_frame(123456789);
  EXPECT_EQ(RoundTrip(frame).DebugString(), frame.DebugString());

  FaultAnswer retry;
  retry.mutable_retry()->set_reason(RETRY_REASON_NOT_YET_AVAILABLE);
  retry.mutable_retry()->set_delay_hint_us(500);
  retry.mutable_retry()->set_detail("not put yet");
  EXPECT_EQ(RoundTrip(retry).DebugString(), retry.DebugString());

  FaultAnswer error;
  error.mutable_error()->set_kind(ERROR_KIND_DENIED);
  error.mutable_error()->set_message(std::string(kTextBytes, 'x'));
  EXPECT_EQ(RoundTrip(error).DebugString(), error.DebugString());
}

TEST(FaultRingCodecTest, AnswersThatDoNotFitARecordAreRefused) {
  AnswerRecord record;
  FaultAnswer inline_page;
  inline_page.mutable_page()->set_data(std::string(kPage, 'p'));
  EXPECT_FALSE(EncodeAnswer(inline_page, 1, &record));
  FaultAnswer long_text;
  long_text.mutable_error()->set_message(std::string(kTextBytes + 1, 'x'));
  EXPECT_FALSE(EncodeAnswer(long_text, 1, &record));
  FaultAnswer gap;
  gap.mutable_zero();
  gap.add_extra_pages()->set_offset(2 * kPage);  // not the next page
  EXPECT_FALSE(EncodeAnswer(gap, 1, &record));
  EXPECT_FALSE(EncodeAnswer(FaultAnswer(), 1, &record));
}

TEST(FaultRingCodecTest, RequestsComeBackWithTheirReleases) {
  FaultRequest fault;
  fault.set_fault_id(3);
  fault.set_region_id(1);
  fault.set_offset(8 * kPage);
  fault.set_access(ACCESS_KIND_WRITE);
  fault.set_vcpu(2);
  fault.set_attempt(4);
  fault.set_prefetch_hint(15);
  const std::vector<uint32_t> releases = {1, 2, 3};
  absl::StatusOr<RingRequest> request =
      DecodeRequest(EncodeRequest(5, &fault, releases));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->generation, 5u);
  ASSERT_TRUE(request->fault.has_value());
  EXPECT_EQ(request->fault->DebugString(), fault.DebugString());
  EXPECT_EQ(request->released_slots, releases);
  absl::StatusOr<RingRequest> release_only =
      DecodeRequest(EncodeRequest(5, nullptr, releases));
  ASSERT_TRUE(release_only.ok());
  EXPECT_FALSE(release_only->fault.has_value());
}

TEST(FaultRingCodecTest, GarbageFieldsAreRefusedByName) {
  const RequestRecord good = EncodeRequest(1, nullptr, {});
  RequestRecord bad = good;
  bad.kind = 99;
  EXPECT_THAT(DecodeRequest(bad).status().message(), HasSubstr("kind 99"));
  bad = good;
  bad.release_count = kReleasesPerRecord + 1;
  EXPECT_THAT(DecodeRequest(bad).status().message(),
              HasSubstr("release_count"));
  bad = good;
  bad.generation = 0;
  EXPECT_THAT(DecodeRequest(bad).status().message(), HasSubstr("generation"));
  bad = good;
  bad.kind = kRequestFault;
  bad.access = 77;
  EXPECT_THAT(DecodeRequest(bad).status().message(), HasSubstr("access 77"));

  AnswerRecord answer;
  FaultAnswer zero;
  zero.mutable_zero();
  ASSERT_TRUE(EncodeAnswer(zero, 1, &answer));
  uint64_t generation;
  AnswerRecord broken = answer;
  broken.extra_count = wire::kMaxPrefetchPages + 1;
  EXPECT_THAT(DecodeAnswer(broken, &generation).status().message(),
              HasSubstr("extra_count"));
  broken = answer;
  broken.text_bytes = kTextBytes + 1;
  EXPECT_THAT(DecodeAnswer(broken, &generation).status().message(),
              HasSubstr("text_bytes"));
  broken = answer;
  broken.kind = 0;
  EXPECT_THAT(DecodeAnswer(broken, &generation).status().message(),
              HasSubstr("answer kind 0"));
}

}  // namespace
}  // namespace faultline::v1::ring
