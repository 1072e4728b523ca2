#include "vmm/devices/device_set.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "proto/guest_abi.h"
#include "vmm/devices/device_fakes.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

class DeviceSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    null_fd_ = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(null_fd_, 0);
    DeviceSetConfig config;
    config.serial_fd = null_fd_;
    config.pcimem_bytes = 64 << 10;
    config.pcimem_msi = &msi_sink_;
    config.pcimem_requests = &requests_;
    config.on_guest_exit = [this](uint8_t status) {
      exit_statuses_.push_back(status);
    };
    auto devices = DeviceSet::Create(std::move(config));
    ASSERT_TRUE(devices.ok()) << devices.status();
    devices_ = *std::move(devices);
  }
  void TearDown() override { ::close(null_fd_); }

  uint32_t ReadPort(uint16_t port, size_t size) {
    uint8_t data[4] = {};
    devices_->port_bus().Read(port, absl::MakeSpan(data, size));
    return static_cast<uint32_t>(LoadLittleEndian(absl::MakeSpan(data, size)));
  }
  void WritePort(uint16_t port, uint32_t value, size_t size) {
    uint8_t data[4];
    StoreLittleEndian(value, absl::MakeSpan(data, size));
    devices_->port_bus().Write(port, absl::MakeConstSpan(data, size));
  }
  // A PCI configuration register of bus 0, through ports 0xCF8 and 0xCFC.
  uint32_t ReadConfig(uint8_t slot, uint8_t reg) {
    WritePort(abi::kPciConfigAddressPort,
              0x80000000u | (uint32_t{slot} << 11) | reg, 4);
    return ReadPort(abi::kPciConfigDataPort, 4);
  }
  uint32_t ReadRegister(uint32_t offset) {
    uint8_t data[4] = {};
    devices_->mmio_bus().Read(abi::kPciMemRegistersBarAddress + offset,
                              absl::MakeSpan(data));
    return static_cast<uint32_t>(LoadLittleEndian(absl::MakeSpan(data)));
  }

  int null_fd_ = -1;
  RecordingMsiSink msi_sink_;
  RecordingRequests requests_;
  std::vector<uint8_t> exit_statuses_;
  std::unique_ptr<DeviceSet> devices_;
};

TEST_F(DeviceSetTest, DevicesSitWhereTheAbiSays) {
  EXPECT_EQ(ReadConfig(0, 0), (uint32_t{abi::kHostBridgeDeviceId} << 16) |
                                  abi::kHostBridgeVendorId)
      << "host bridge at slot 0";
  EXPECT_EQ(ReadConfig(abi::kPciMemDeviceSlot, 0),
            (uint32_t{abi::kPciMemDeviceId} << 16) | abi::kPciMemVendorId);
  EXPECT_EQ(ReadRegister(abi::kPciMemRegMagic), abi::kPciMemMagic);
  EXPECT_EQ(ReadRegister(abi::kPciMemRegFrameCount), 16u);
  EXPECT_EQ(ReadRegister(abi::kPciMemRegFeatures),
            abi::kPciMemFeaturePageEvents);
  EXPECT_EQ(ReadConfig(abi::kPciMemDeviceSlot, 0x34),
            abi::kPciMemMsiCapability);
  WritePort(abi::kDebugExitPort, 3, 1);
  EXPECT_EQ(exit_statuses_, (std::vector<uint8_t>{3}));
}

TEST_F(DeviceSetTest, NoMemoryDeviceWithoutMemory) {
  DeviceSetConfig config;
  config.serial_fd = null_fd_;
  config.on_guest_exit = [](uint8_t) {};
  auto bare = DeviceSet::Create(std::move(config));
  ASSERT_TRUE(bare.ok()) << bare.status();
  devices_ = *std::move(bare);
  EXPECT_EQ(ReadConfig(abi::kPciMemDeviceSlot, 0), 0xFFFFFFFFu);
  EXPECT_EQ(ReadRegister(abi::kPciMemRegMagic), 0xFFFFFFFFu);
}

TEST_F(DeviceSetTest, DebugExitNeedsACallback) {
  DeviceSetConfig config;
  config.serial_fd = null_fd_;
  EXPECT_FALSE(DeviceSet::Create(std::move(config)).ok());
}

// What a guest may write to any port or device register, at any width: every
// access completes, and afterwards the devices still answer as the ABI says.
TEST_F(DeviceSetTest, GarbageOnEveryPortAndRegisterBreaksNothing) {
  std::mt19937_64 random(20261130);
  for (uint32_t port = 0; port <= 0xFFFF; ++port) {
    if (port == abi::kDebugExitPort) continue;  // would end the run, by design
    for (size_t size : {1, 2, 4}) {
      WritePort(static_cast<uint16_t>(port), static_cast<uint32_t>(random()),
                size);
      ReadPort(static_cast<uint16_t>(port), size);
    }
  }
  // PCI configuration: random addresses (enable bit or not, any bus, slot,
  // function and register) and random data.
  for (int i = 0; i < 100000; ++i) {
    WritePort(abi::kPciConfigAddressPort, static_cast<uint32_t>(random()), 4);
    const uint16_t data_port =
        abi::kPciConfigDataPort + static_cast<uint16_t>(random() % 4);
    WritePort(data_port, static_cast<uint32_t>(random()), 1 + random() % 2);
    ReadPort(data_port, 1);
  }
  // The memory device's whole header, MSI capability included: enabling
  // MSI with a random address and data is the guest's business.
  for (int round = 0; round < 64; ++round) {
    for (uint32_t reg = 0; reg < 256; ++reg) {
      WritePort(
          abi::kPciConfigAddressPort,
          0x80000000u | (uint32_t{abi::kPciMemDeviceSlot} << 11) | (reg & 0xFC),
          4);
      const size_t size = size_t{1} << (random() % 3);
      WritePort(abi::kPciConfigDataPort + (reg & 3) / size * size,
                static_cast<uint32_t>(random()), size);
    }
  }
  devices_->pcimem_events()->PageAvailable(3);  // events may be on now
  for (uint64_t offset = 0; offset < abi::kPciMemRegistersBarBytes + 16;
       ++offset) {
    for (size_t size : {1, 2, 4, 8}) {
      uint8_t data[8];
      StoreLittleEndian(random(), absl::MakeSpan(data, size));
      const uint64_t address = abi::kPciMemRegistersBarAddress + offset;
      devices_->mmio_bus().Write(address, absl::MakeConstSpan(data, size));
      devices_->mmio_bus().Read(address, absl::MakeSpan(data, size));
    }
  }

  EXPECT_TRUE(exit_statuses_.empty());
  EXPECT_EQ(ReadConfig(abi::kPciMemDeviceSlot, 0),
            (uint32_t{abi::kPciMemDeviceId} << 16) | abi::kPciMemVendorId);
  EXPECT_EQ(ReadConfig(abi::kPciMemDeviceSlot, 0x18) & 0xF, 0xCu)
      << "the window BAR stays 64-bit prefetchable";
  EXPECT_EQ(ReadRegister(abi::kPciMemRegMagic), abi::kPciMemMagic);
  EXPECT_EQ(ReadRegister(abi::kPciMemRegVersion), abi::kPciMemRegisterVersion);
  EXPECT_EQ(ReadRegister(abi::kPciMemRegFrameCount), 16u);
  EXPECT_EQ(ReadConfig(abi::kPciMemDeviceSlot, 0x34),
            abi::kPciMemMsiCapability);
  EXPECT_GT(ReadRegister(abi::kPciMemRegIgnoredWrites), 0u);
  // The fault path only ever heard of window pages.
  for (uint64_t page : requests_.prepared()) EXPECT_LT(page, 16u);
  for (uint64_t page : requests_.acknowledged()) EXPECT_LT(page, 16u);
  // The fault path's reports still work, and a driver can turn events on.
  uint8_t on[4] = {1, 0, 0, 0};
  devices_->mmio_bus().Write(
      abi::kPciMemRegistersBarAddress + abi::kPciMemRegControl, on);
  devices_->pcimem_events()->PageError(15, abi::kPciMemReasonDenied);
  EXPECT_NE(ReadRegister(abi::kPciMemRegEventHead), 0u);
}

}  // namespace
}  // namespace faultline::vmm
