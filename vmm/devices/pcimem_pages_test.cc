#include "vmm/devices/pcimem_pages.h"

#include <vector>

#include "gtest/gtest.h"
#include "proto/guest_abi.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

using Effects = PciMemPageEvents::Effects;

constexpr uint64_t kPages = 16;

class PciMemPagesTest : public ::testing::Test {
 protected:
  PciMemPagesTest() : pages_(kPages, true) {}

  bool Write(uint32_t offset, uint32_t value) {
    last_ = Effects();
    return pages_.Write32(offset, value, &last_);
  }
  void TurnOn() { ASSERT_TRUE(Write(abi::kPciMemRegControl, 1)); }
  uint32_t State(uint32_t page) {
    EXPECT_TRUE(Write(abi::kPciMemRegStateSelect, page));
    return pages_.Read32(abi::kPciMemRegState);
  }
  // Everything from TAIL to HEAD, consumed.
  std::vector<uint64_t> Drain() {
    std::vector<uint64_t> events;
    const uint32_t head = pages_.Read32(abi::kPciMemRegEventHead);
    for (uint32_t i = pages_.Read32(abi::kPciMemRegEventTail); i != head; ++i) {
      events.push_back(pages_.RingEntry(i % abi::kPciMemEventRingEntries));
    }
    EXPECT_TRUE(Write(abi::kPciMemRegEventTail, head));
    return events;
  }
  Effects Set(uint64_t page, uint8_t state, uint8_t reason) {
    Effects effects;
    pages_.SetState(page, state, reason, &effects);
    return effects;
  }

  PciMemPageEvents pages_;
  Effects last_;
};

TEST_F(PciMemPagesTest, NotOfferedReadsZeroAndIgnoresWrites) {
  PciMemPageEvents bare(kPages, false);
  Effects effects;
  EXPECT_EQ(bare.Read32(abi::kPciMemRegFeatures), 0u);
  EXPECT_EQ(bare.Read32(abi::kPciMemRegEventRingEntries), 0u);
  EXPECT_FALSE(bare.Write32(abi::kPciMemRegControl, 1, &effects));
  EXPECT_FALSE(bare.Write32(abi::kPciMemRegPrepare, 0, &effects));
  EXPECT_TRUE(effects.prepare.empty());
}

TEST_F(PciMemPagesTest, RegistersAtRest) {
  EXPECT_EQ(pages_.Read32(abi::kPciMemRegFeatures),
            abi::kPciMemFeaturePageEvents);
  EXPECT_EQ(pages_.Read32(abi::kPciMemRegControl), 0u);
  EXPECT_EQ(pages_.Read32(abi::kPciMemRegEventRingEntries),
            abi::kPciMemEventRingEntries);
  EXPECT_EQ(State(3), abi::PciMemPageStateValue(abi::kPciMemPageAbsent,
                                                abi::kPciMemReasonNone));
  EXPECT_EQ(State(kPages), 0xFFFFFFFFu) << "outside the window";
}

TEST_F(PciMemPagesTest, StatesChangeSilentlyWhileEventsAreOff) {
  EXPECT_FALSE(Set(2, abi::kPciMemPageAvailable, 0).interrupt);
  EXPECT_EQ(State(2) & 0xFF, abi::kPciMemPageAvailable);
  EXPECT_EQ(pages_.Read32(abi::kPciMemRegEventHead), 0u);
  EXPECT_FALSE(Write(abi::kPciMemRegPrepare, 3)) << "no PREPARE while off";
}

TEST_F(PciMemPagesTest, EventsCarryPageStateAndReason) {
  TurnOn();
  EXPECT_TRUE(
      Set(5, abi::kPciMemPagePending, abi::kPciMemReasonBusy).interrupt);
  EXPECT_FALSE(
      Set(5, abi::kPciMemPagePending, abi::kPciMemReasonBusy).interrupt)
      << "STATUS.EVENTS still set: one interrupt until it is cleared";
  Set(6, abi::kPciMemPageAvailable, 0);
  Set(6, abi::kPciMemPageAvailable, 0);
  EXPECT_EQ(pages_.Read32(abi::kPciMemRegStatus), abi::kPciMemStatusEvents);
  const uint64_t busy =
      abi::PciMemEvent(5, abi::kPciMemPagePending, abi::kPciMemReasonBusy);
  EXPECT_EQ(Drain(),
            (std::vector<uint64_t>{
                busy, busy, abi::PciMemEvent(6, abi::kPciMemPageAvailable, 0)}))
      << "each retry answer is an event; an unchanged state otherwise not";
  EXPECT_TRUE(Write(abi::kPciMemRegStatus, abi::kPciMemStatusEvents));
  EXPECT_EQ(pages_.Read32(abi::kPciMemRegStatus), 0u);
  EXPECT_TRUE(
      Set(5, abi::kPciMemPageError, abi::kPciMemReasonOutOfMemory).interrupt)
      << "the next event interrupts again";
  Effects outside = Set(kPages, abi::kPciMemPageAvailable, 0);
  EXPECT_FALSE(outside.interrupt);
  EXPECT_EQ(Drain().size(), 1u) << "pages outside the window are ignored";
}

TEST_F(PciMemPagesTest, TailMovesOnlyForwardAndNotPastHead) {
  TurnOn();
  for (uint32_t page = 0; page < 4; ++page) {
    Set(page, abi::kPciMemPageAvailable, 0);
  }
  EXPECT_FALSE(Write(abi::kPciMemRegEventTail, 5)) << "past HEAD";
  EXPECT_TRUE(Write(abi::kPciMemRegEventTail, 2));
  EXPECT_FALSE(Write(abi::kPciMemRegEventTail, 1)) << "backwards";
  EXPECT_FALSE(Write(abi::kPciMemRegEventTail, 0xFFFFFFFF)) << "wrapped";
  EXPECT_TRUE(Write(abi::kPciMemRegEventTail, 4));
  EXPECT_EQ(pages_.Read32(abi::kPciMemRegEventTail), 4u);
}

TEST_F(PciMemPagesTest, AFullRingDropsAndSaysOverflow) {
  PciMemPageEvents big(1000, true);
  Effects effects;
  ASSERT_TRUE(big.Write32(abi::kPciMemRegControl, 1, &effects));
  for (uint32_t page = 0; page < abi::kPciMemEventRingEntries + 3; ++page) {
    big.SetState(page, abi::kPciMemPageAvailable, 0, &effects);
  }
  EXPECT_EQ(big.Read32(abi::kPciMemRegEventHead), abi::kPciMemEventRingEntries);
  EXPECT_EQ(big.Read32(abi::kPciMemRegStatus),
            abi::kPciMemStatusEvents | abi::kPciMemStatusOverflow);
  EXPECT_EQ(big.events_dropped(), 3u);
  EXPECT_EQ(big.RingEntry(0), abi::PciMemEvent(0, abi::kPciMemPageAvailable, 0))
      << "the oldest events stay";
  // Turning events on again starts an empty ring.
  ASSERT_TRUE(big.Write32(abi::kPciMemRegControl, 0, &effects));
  ASSERT_TRUE(big.Write32(abi::kPciMemRegControl, 1, &effects));
  EXPECT_EQ(big.Read32(abi::kPciMemRegEventHead), 0u);
  EXPECT_EQ(big.Read32(abi::kPciMemRegStatus), 0u);
}

TEST_F(PciMemPagesTest, PrepareAsksOnlyForPagesWithoutAFrame) {
  TurnOn();
  ASSERT_TRUE(Write(abi::kPciMemRegPrepare, 1));
  EXPECT_EQ(last_.prepare, std::vector<uint64_t>{1});
  EXPECT_EQ(State(1), abi::PciMemPageStateValue(abi::kPciMemPagePending,
                                                abi::kPciMemReasonAsked));
  ASSERT_TRUE(Write(abi::kPciMemRegPrepare, 1));
  EXPECT_TRUE(last_.prepare.empty()) << "already being asked for";

  Set(2, abi::kPciMemPageAvailable, 0);
  Drain();
  ASSERT_TRUE(Write(abi::kPciMemRegPrepare, 2));
  EXPECT_TRUE(last_.prepare.empty());
  EXPECT_EQ(Drain(), std::vector<uint64_t>{abi::PciMemEvent(
                         2, abi::kPciMemPageAvailable, 0)})
      << "a stale guest view gets the state again";

  for (uint8_t state : {abi::kPciMemPageRevoked, abi::kPciMemPageError}) {
    Set(3, state, abi::kPciMemReasonDenied);
    ASSERT_TRUE(Write(abi::kPciMemRegPrepare, 3));
    EXPECT_EQ(last_.prepare, std::vector<uint64_t>{3}) << int{state};
  }
  EXPECT_FALSE(Write(abi::kPciMemRegPrepare, kPages));
  EXPECT_FALSE(Write(abi::kPciMemRegPrepare, 0xFFFFFFFF));
}

TEST_F(PciMemPagesTest, RevocationWaitsForTheGuestOnlyWhenItCouldMapThePage) {
  EXPECT_FALSE(pages_.BeginRevocation(4, &last_)) << "events off";
  TurnOn();
  EXPECT_FALSE(pages_.BeginRevocation(4, &last_)) << "never available";
  Set(4, abi::kPciMemPageAvailable, 0);
  Drain();
  Effects effects;
  ASSERT_TRUE(pages_.BeginRevocation(4, &effects));
  EXPECT_EQ(Drain(), std::vector<uint64_t>{
                         abi::PciMemEvent(4, abi::kPciMemPageRevoking, 0)});
  EXPECT_FALSE(Write(abi::kPciMemRegRevokeAck, 5)) << "not in revocation";
  ASSERT_TRUE(Write(abi::kPciMemRegRevokeAck, 4));
  EXPECT_EQ(last_.acknowledged, std::vector<uint64_t>{4});
  EXPECT_FALSE(Write(abi::kPciMemRegRevokeAck, 4)) << "acknowledged once";
  EXPECT_EQ(State(4) & 0xFF, abi::kPciMemPageRevoking)
      << "until the fault path has unmapped it";
  Set(4, abi::kPciMemPageRevoked, 0);
  EXPECT_EQ(State(4) & 0xFF, abi::kPciMemPageRevoked);
}

TEST_F(PciMemPagesTest, TurningEventsOffReleasesRevocations) {
  TurnOn();
  for (uint32_t page : {7, 9}) {
    Set(page, abi::kPciMemPageAvailable, 0);
    ASSERT_TRUE(pages_.BeginRevocation(page, &last_));
  }
  ASSERT_TRUE(Write(abi::kPciMemRegControl, 0));
  std::vector<uint64_t> acked = last_.acknowledged;
  std::sort(acked.begin(), acked.end());
  EXPECT_EQ(acked, (std::vector<uint64_t>{7, 9}));
  EXPECT_FALSE(Write(abi::kPciMemRegRevokeAck, 7));
}

TEST_F(PciMemPagesTest, ARevokedPageLeftByTheFaultPathNeedsNoAck) {
  TurnOn();
  Set(8, abi::kPciMemPageAvailable, 0);
  ASSERT_TRUE(pages_.BeginRevocation(8, &last_));
  Set(8, abi::kPciMemPageRevoked, 0);  // the fault path stopped waiting
  EXPECT_FALSE(Write(abi::kPciMemRegRevokeAck, 8));
}

TEST_F(PciMemPagesTest, BadWritesAreRefused) {
  EXPECT_FALSE(Write(abi::kPciMemRegControl, 2)) << "reserved bit";
  EXPECT_FALSE(Write(abi::kPciMemRegStatus, 4)) << "reserved bit";
  EXPECT_FALSE(Write(abi::kPciMemRegFeatures, 0)) << "read-only";
  EXPECT_FALSE(Write(abi::kPciMemRegState, 0)) << "read-only";
  EXPECT_FALSE(Write(abi::kPciMemRegEventHead, 0)) << "read-only";
  EXPECT_FALSE(Write(abi::kPciMemRegEventRingEntries, 0)) << "read-only";
  EXPECT_FALSE(Write(0x4C, 0)) << "unknown";
  EXPECT_EQ(pages_.Read32(abi::kPciMemRegControl), 0u);
}

}  // namespace
}  // namespace faultline::vmm
