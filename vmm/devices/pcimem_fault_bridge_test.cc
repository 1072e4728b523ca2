#include "vmm/devices/pcimem_fault_bridge.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "proto/guest_abi.h"
#include "vmm/devices/device_fakes.h"
#include "vmm/devices/pcimem_device.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

constexpr uint64_t kPages = 64;

// The device with the bridge as its fault path; the fault engine is the
// test (made-up answers), KVM's MSI delivery a recorder.
class PciMemFaultBridgeTest : public ::testing::Test {
 protected:
  PciMemFaultBridgeTest()
      : bridge_(absl::Seconds(5)),
        msi_(abi::kPciMemMsiCapability, &sink_),
        registers_(kPages, &bridge_, &msi_) {
    msi_.WriteByte(4, 0x00);  // address 0xFEE00000, data 0x31, enabled
    msi_.WriteByte(6, 0xE0);
    msi_.WriteByte(7, 0xFE);
    msi_.WriteByte(12, 0x31);
    msi_.WriteByte(2, 0x01);
    msi_.SetBusMaster(true);
    bridge_.Connect(&registers_, [this](uint64_t offset) {
      absl::MutexLock lock(&mutex_);
      asked_.push_back(offset);
      return absl::OkStatus();
    });
    Write(abi::kPciMemRegControl, abi::kPciMemControlEvents);
  }

  uint64_t Read(uint32_t offset, size_t size = 4) {
    uint8_t bytes[8] = {};
    registers_.Read(offset, absl::MakeSpan(bytes, size));
    return LoadLittleEndian(absl::MakeConstSpan(bytes, size));
  }
  void Write(uint32_t offset, uint64_t value) {
    uint8_t bytes[4];
    StoreLittleEndian(value, absl::MakeSpan(bytes, 4));
    registers_.Write(offset, absl::MakeConstSpan(bytes, 4));
  }
  uint32_t State(uint32_t page) {
    Write(abi::kPciMemRegStateSelect, page);
    return static_cast<uint32_t>(Read(abi::kPciMemRegState));
  }
  // What the driver's interrupt handler does: clear, read, consume.
  std::vector<uint64_t> Drain() {
    Write(abi::kPciMemRegStatus, abi::kPciMemStatusEvents);
    std::vector<uint64_t> events;
    const auto head = static_cast<uint32_t>(Read(abi::kPciMemRegEventHead));
    for (; tail_ != head; ++tail_) {
      events.push_back(Read(
          abi::kPciMemEventRing + 8 * (tail_ % abi::kPciMemEventRingEntries),
          8));
    }
    Write(abi::kPciMemRegEventTail, tail_);
    return events;
  }
  std::vector<uint64_t> asked() {
    absl::MutexLock lock(&mutex_);
    return asked_;
  }

  PciMemFaultBridge bridge_;
  RecordingMsiSink sink_;
  PciMsiCapability msi_;
  PciMemRegisters registers_;
  uint32_t tail_ = 0;
  absl::Mutex mutex_;
  std::vector<uint64_t> asked_ ABSL_GUARDED_BY(mutex_);
};

TEST(PciMemReasonsTest, KeepProtocolV1Order) {
  EXPECT_EQ(PciMemRetryReason(v1::RETRY_REASON_INTERRUPTED),
            abi::kPciMemReasonInterrupted);
  EXPECT_EQ(PciMemRetryReason(v1::RETRY_REASON_BUSY), abi::kPciMemReasonBusy);
  EXPECT_EQ(PciMemRetryReason(v1::RETRY_REASON_NOT_YET_AVAILABLE),
            abi::kPciMemReasonNotYetAvailable);
  EXPECT_EQ(PciMemRetryReason(v1::RETRY_REASON_OVER_QUOTA),
            abi::kPciMemReasonOverQuota);
  EXPECT_EQ(PciMemRetryReason(v1::RETRY_REASON_STORE_UNAVAILABLE),
            abi::kPciMemReasonStoreUnavailable);
  EXPECT_EQ(PciMemRetryReason(static_cast<v1::RetryReason>(77)),
            abi::kPciMemReasonBusy)
      << "unknown reasons are BUSY";
  EXPECT_EQ(PciMemErrorReason(v1::ERROR_KIND_BUS_ERROR),
            abi::kPciMemReasonBusError);
  EXPECT_EQ(PciMemErrorReason(v1::ERROR_KIND_OUT_OF_MEMORY),
            abi::kPciMemReasonOutOfMemory);
  EXPECT_EQ(PciMemErrorReason(v1::ERROR_KIND_DENIED), abi::kPciMemReasonDenied);
  EXPECT_EQ(PciMemErrorReason(v1::ERROR_KIND_UNSPECIFIED),
            abi::kPciMemReasonBusError);
}

TEST_F(PciMemFaultBridgeTest, PrepareAsksTheFaultPathAndAFrameAnswerMapsIt) {
  Write(abi::kPciMemRegPrepare, 5);
  EXPECT_EQ(asked(), std::vector<uint64_t>{5 * abi::kPageBytes});
  EXPECT_EQ(State(5), abi::PciMemPageStateValue(abi::kPciMemPagePending,
                                                abi::kPciMemReasonAsked));
  bridge_.RetryAnswered(5 * abi::kPageBytes, v1::RETRY_REASON_OVER_QUOTA);
  bridge_.FrameMapped(5 * abi::kPageBytes);
  EXPECT_EQ(State(5), abi::PciMemPageStateValue(abi::kPciMemPageAvailable,
                                                abi::kPciMemReasonNone));
  EXPECT_EQ(
      Drain(),
      (std::vector<uint64_t>{
          abi::PciMemEvent(5, abi::kPciMemPagePending, abi::kPciMemReasonAsked),
          abi::PciMemEvent(5, abi::kPciMemPagePending,
                           abi::kPciMemReasonOverQuota),
          abi::PciMemEvent(5, abi::kPciMemPageAvailable, 0),
      }));
  EXPECT_EQ(sink_.count(), 1u) << "one MSI until the guest clears STATUS";
  EXPECT_EQ(bridge_.counts().prepares, 1u);
}

TEST_F(PciMemFaultBridgeTest, AnErrorAnswerIsThePagesErrorWithItsKind) {
  Write(abi::kPciMemRegPrepare, 7);
  bridge_.ErrorAnswered(7 * abi::kPageBytes, v1::ERROR_KIND_OUT_OF_MEMORY);
  EXPECT_EQ(State(7), abi::PciMemPageStateValue(abi::kPciMemPageError,
                                                abi::kPciMemReasonOutOfMemory));
  Drain();
  Write(abi::kPciMemRegPrepare, 7);  // the guest asks again
  EXPECT_EQ(asked().size(), 2u);
  EXPECT_EQ(sink_.count(), 2u);
}

TEST_F(PciMemFaultBridgeTest, AFaultPathThatGivesUpOrFailsIsAnError) {
  Write(abi::kPciMemRegPrepare, 8);
  bridge_.GaveUp(8 * abi::kPageBytes);
  EXPECT_EQ(State(8), abi::PciMemPageStateValue(abi::kPciMemPageError,
                                                abi::kPciMemReasonTimedOut));
  PciMemFaultBridge refusing(absl::Seconds(1));
  PciMemRegisters registers(kPages, &refusing);
  refusing.Connect(&registers, [](uint64_t) {
    return absl::FailedPreconditionError("stopping");
  });
  uint8_t on[4] = {1, 0, 0, 0};
  registers.Write(abi::kPciMemRegControl, absl::MakeConstSpan(on));
  registers.Write(abi::kPciMemRegPrepare, absl::MakeConstSpan(on));
  registers.Write(abi::kPciMemRegStateSelect, absl::MakeConstSpan(on));
  uint8_t state[4] = {};
  registers.Read(abi::kPciMemRegState, absl::MakeSpan(state));
  EXPECT_EQ(LoadLittleEndian(absl::MakeConstSpan(state)),
            abi::PciMemPageStateValue(abi::kPciMemPageError,
                                      abi::kPciMemReasonHostFailure));
}

TEST_F(PciMemFaultBridgeTest, RevocationWaitsForTheGuestsAcknowledgement) {
  bridge_.FrameMapped(3 * abi::kPageBytes);
  Drain();
  // The stream thread lets go; a vCPU (the driver's interrupt thread)
  // acknowledges once it has seen REVOKING.
  std::thread guest([this] {
    for (;;) {
      for (uint64_t event : Drain()) {
        if (event == abi::PciMemEvent(3, abi::kPciMemPageRevoking, 0)) {
          Write(abi::kPciMemRegRevokeAck, 3);
          return;
        }
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
  });
  bridge_.LetGo(3 * abi::kPageBytes);
  guest.join();
  bridge_.Revoked(3 * abi::kPageBytes);
  EXPECT_EQ(State(3), abi::PciMemPageStateValue(abi::kPciMemPageRevoked, 0));
  EXPECT_EQ(bridge_.counts().acknowledged, 1u);
  EXPECT_EQ(bridge_.counts().ack_timeouts, 0u);
  EXPECT_EQ(registers_.ignored_writes(), 0u);
}

TEST_F(PciMemFaultBridgeTest, APageTheGuestNeverMappedIsLetGoAtOnce) {
  bridge_.LetGo(4 * abi::kPageBytes);  // ABSENT: nothing to wait for
  bridge_.Revoked(4 * abi::kPageBytes);
  EXPECT_EQ(State(4), abi::PciMemPageStateValue(abi::kPciMemPageRevoked, 0));
  EXPECT_EQ(bridge_.counts().acknowledged + bridge_.counts().ack_timeouts, 0u);
}

TEST(PciMemFaultBridgeDeadlineTest, AGuestThatNeverAcknowledgesIsNotWaitedFor) {
  PciMemFaultBridge bridge(absl::Milliseconds(50));
  PciMemRegisters registers(kPages, &bridge);
  bridge.Connect(&registers, [](uint64_t) { return absl::OkStatus(); });
  uint8_t on[4] = {1, 0, 0, 0};
  registers.Write(abi::kPciMemRegControl, absl::MakeConstSpan(on));
  bridge.FrameMapped(0);
  const absl::Time start = absl::Now();
  bridge.LetGo(0);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
  EXPECT_EQ(bridge.counts().ack_timeouts, 1u);
  // A late acknowledgement is harmless.
  uint8_t page0[4] = {0, 0, 0, 0};
  registers.Write(abi::kPciMemRegRevokeAck, absl::MakeConstSpan(page0));
  bridge.Revoked(0);
}

TEST(PciMemFaultBridgeUnconnectedTest, APrepareWithoutAFaultPathIsAnError) {
  PciMemFaultBridge bridge(absl::Seconds(1));
  PciMemRegisters registers(kPages, &bridge);
  bridge.Connect(&registers, nullptr);
  uint8_t on[4] = {1, 0, 0, 0};
  registers.Write(abi::kPciMemRegControl, absl::MakeConstSpan(on));
  uint8_t page[4] = {2, 0, 0, 0};
  registers.Write(abi::kPciMemRegPrepare, absl::MakeConstSpan(page));
  registers.Write(abi::kPciMemRegStateSelect, absl::MakeConstSpan(page));
  uint8_t state[4] = {};
  registers.Read(abi::kPciMemRegState, absl::MakeSpan(state));
  EXPECT_EQ(LoadLittleEndian(absl::MakeConstSpan(state)),
            abi::PciMemPageStateValue(abi::kPciMemPageError,
                                      abi::kPciMemReasonHostFailure));
}

}  // namespace
}  // namespace faultline::vmm
