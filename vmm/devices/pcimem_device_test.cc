#include "vmm/devices/pcimem_device.h"

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "proto/guest_abi.h"
#include "vmm/devices/device_fakes.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

constexpr uint64_t kPages = 64;

// The registers as a guest driver sees them, with the fault path and KVM's
// MSI delivery replaced by recorders.
class PciMemDeviceTest : public ::testing::Test {
 protected:
  PciMemDeviceTest()
      : msi_(abi::kPciMemMsiCapability, &sink_),
        registers_(kPages, &requests_, &msi_) {
    // What Linux's MSI setup leaves: address, data, enable, bus master.
    msi_.WriteByte(4, 0x00);
    msi_.WriteByte(6, 0xE0);
    msi_.WriteByte(7, 0xFE);
    msi_.WriteByte(12, 0x31);
    msi_.WriteByte(2, 0x01);
    msi_.SetBusMaster(true);
  }

  uint64_t Read(uint32_t offset, size_t size = 4) {
    uint8_t bytes[8] = {};
    registers_.Read(offset, absl::MakeSpan(bytes, size));
    return LoadLittleEndian(absl::MakeConstSpan(bytes, size));
  }
  void Write(uint32_t offset, uint64_t value, size_t size = 4) {
    uint8_t bytes[8];
    StoreLittleEndian(value, absl::MakeSpan(bytes, size));
    registers_.Write(offset, absl::MakeConstSpan(bytes, size));
  }
  uint64_t Entry(uint32_t index) {
    return Read(abi::kPciMemEventRing + 8 * index, 8);
  }

  RecordingMsiSink sink_;
  RecordingRequests requests_;
  PciMsiCapability msi_;
  PciMemRegisters registers_;
};

TEST_F(PciMemDeviceTest, Version2KeepsTheVersion1Registers) {
  EXPECT_EQ(Read(abi::kPciMemRegMagic), abi::kPciMemMagic);
  EXPECT_EQ(Read(abi::kPciMemRegVersion), 2u);
  EXPECT_EQ(Read(abi::kPciMemRegFrameBytes), abi::kPageBytes);
  EXPECT_EQ(Read(abi::kPciMemRegFrameCount, 8), kPages);
  Write(abi::kPciMemRegScratch + 1, 0xAB, 1);
  EXPECT_EQ(Read(abi::kPciMemRegScratch), 0xAB00u);
  EXPECT_EQ(Read(abi::kPciMemRegFeatures), abi::kPciMemFeaturePageEvents);
  EXPECT_EQ(Read(abi::kPciMemRegFeatures, 1), abi::kPciMemFeaturePageEvents)
      << "reads of any width";
}

TEST_F(PciMemDeviceTest, WithoutAFaultPathThereAreNoPageEvents) {
  PciMemRegisters bare(kPages);
  uint8_t bytes[4] = {1, 0, 0, 0};
  bare.Write(abi::kPciMemRegControl, absl::MakeConstSpan(bytes));
  bare.Read(abi::kPciMemRegControl, absl::MakeSpan(bytes));
  EXPECT_EQ(LoadLittleEndian(absl::MakeConstSpan(bytes)), 0u);
  bare.Read(abi::kPciMemRegFeatures, absl::MakeSpan(bytes));
  EXPECT_EQ(LoadLittleEndian(absl::MakeConstSpan(bytes)), 0u);
  EXPECT_EQ(bare.ignored_writes(), 1u);
  bare.PageAvailable(3);  // harmless without a guest listening
}

TEST_F(PciMemDeviceTest, PrepareThenAvailableInterruptsAndQueuesEvents) {
  Write(abi::kPciMemRegControl, abi::kPciMemControlEvents);
  Write(abi::kPciMemRegPrepare, 9);
  EXPECT_EQ(requests_.prepared(), std::vector<uint64_t>{9});
  ASSERT_EQ(sink_.count(), 1u);
  EXPECT_EQ(sink_.messages()[0], std::make_pair(uint64_t{0xFEE00000}, 0x31u));

  registers_.PagePending(9, abi::kPciMemReasonNotYetAvailable);
  registers_.PageAvailable(9);
  EXPECT_EQ(sink_.count(), 1u) << "STATUS.EVENTS not cleared yet";
  ASSERT_EQ(Read(abi::kPciMemRegEventHead), 3u);
  EXPECT_EQ(Entry(0), abi::PciMemEvent(9, abi::kPciMemPagePending,
                                       abi::kPciMemReasonAsked));
  EXPECT_EQ(Entry(1), abi::PciMemEvent(9, abi::kPciMemPagePending,
                                       abi::kPciMemReasonNotYetAvailable));
  EXPECT_EQ(Entry(2), abi::PciMemEvent(9, abi::kPciMemPageAvailable, 0));
  EXPECT_EQ(Read(abi::kPciMemEventRing + 8 * 2 + 4), abi::kPciMemPageAvailable)
      << "the upper half alone";

  Write(abi::kPciMemRegStatus, abi::kPciMemStatusEvents);
  Write(abi::kPciMemRegEventTail, 3);
  registers_.PageError(9, abi::kPciMemReasonDenied);
  EXPECT_EQ(sink_.count(), 2u);
  Write(abi::kPciMemRegStateSelect, 9);
  EXPECT_EQ(Read(abi::kPciMemRegState),
            abi::PciMemPageStateValue(abi::kPciMemPageError,
                                      abi::kPciMemReasonDenied));
  EXPECT_EQ(registers_.ignored_writes(), 0u);
}

TEST_F(PciMemDeviceTest, RevocationAcknowledgementReachesTheFaultPath) {
  Write(abi::kPciMemRegControl, abi::kPciMemControlEvents);
  registers_.PageAvailable(5);
  ASSERT_TRUE(registers_.BeginRevocation(5));
  Write(abi::kPciMemRegRevokeAck, 5);
  EXPECT_EQ(requests_.acknowledged(), std::vector<uint64_t>{5});
  registers_.PageRevoked(5);
  EXPECT_FALSE(registers_.BeginRevocation(5)) << "nothing mapped any more";
}

TEST_F(PciMemDeviceTest, Version2RegistersTakeAlignedDwordWritesOnly) {
  Write(abi::kPciMemRegControl, abi::kPciMemControlEvents, 1);
  Write(abi::kPciMemRegControl, abi::kPciMemControlEvents, 8);
  Write(abi::kPciMemRegControl + 1, 0, 4);
  EXPECT_EQ(Read(abi::kPciMemRegControl), 0u);
  Write(abi::kPciMemEventRing, 0, 8);  // the ring is read-only
  Write(abi::kPciMemRegIgnoredWrites, 0);
  EXPECT_EQ(Read(abi::kPciMemRegIgnoredWrites), 5u);
  EXPECT_EQ(registers_.ignored_writes(), 5u);
}

// The guest hammers the doorbells from several vCPUs while the fault path
// reports pages and a driver drains the ring: nothing deadlocks, every
// request names a window page, and the ring never runs past its tail.
TEST_F(PciMemDeviceTest, ConcurrentGuestAndFaultPath) {
  Write(abi::kPciMemRegControl, abi::kPciMemControlEvents);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int vcpu = 0; vcpu < 3; ++vcpu) {
    threads.emplace_back([this, vcpu] {
      std::mt19937 random(vcpu);
      for (int i = 0; i < 20000; ++i) {
        Write(random() % 2 ? abi::kPciMemRegPrepare : abi::kPciMemRegRevokeAck,
              random() % (kPages + 4));
      }
    });
  }
  threads.emplace_back([this] {
    std::mt19937 random(99);
    for (int i = 0; i < 20000; ++i) {
      const uint64_t page = random() % kPages;
      switch (random() % 4) {
        case 0:
          registers_.PageAvailable(page);
          break;
        case 1:
          registers_.PagePending(page, abi::kPciMemReasonBusy);
          break;
        case 2:
          if (!registers_.BeginRevocation(page)) registers_.PageRevoked(page);
          break;
        default:
          registers_.PageRevoked(page);
      }
    }
  });
  std::thread driver([this, &stop] {
    while (!stop) {
      Write(abi::kPciMemRegStatus, abi::kPciMemStatusEvents);
      const uint32_t head =
          static_cast<uint32_t>(Read(abi::kPciMemRegEventHead));
      const uint32_t tail =
          static_cast<uint32_t>(Read(abi::kPciMemRegEventTail));
      EXPECT_LE(head - tail, abi::kPciMemEventRingEntries);
      for (uint32_t i = tail; i != head; ++i) {
        EXPECT_LT(Entry(i % abi::kPciMemEventRingEntries) & 0xFFFFFFFF, kPages);
      }
      Write(abi::kPciMemRegEventTail, head);
    }
  });
  for (std::thread& thread : threads) thread.join();
  stop = true;
  driver.join();
  for (uint64_t page : requests_.prepared()) EXPECT_LT(page, kPages);
  for (uint64_t page : requests_.acknowledged()) EXPECT_LT(page, kPages);
  EXPECT_GT(sink_.count(), 0u);
}

}  // namespace
}  // namespace faultline::vmm
