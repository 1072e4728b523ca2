#include "vmm/devices/device_set.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proto/guest_abi.h"
#include "proto/pc_machine.h"
#include "vmm/devices/device_fakes.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;
namespace pc = ::faultline::pc_machine;

class DeviceSetTest : public ::testing::Test {
 public:
  void SetUp() override {
    null_fd_ = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(null_fd_, 0);
    Build(false);
  }
  // A payload's devices, or a kernel guest's PC (pc_machine.h) with the
  // status latch and interrupts into a fake sink.
  void Build(bool pc) {
    devices_.reset();
    DeviceSetConfig config;
    config.serial_fd = null_fd_;
    config.pcimem_bytes = 64 << 10;
    config.pcimem_msi = &msi_sink_;
    config.pcimem_requests = &requests_;
    config.on_guest_exit = [this](uint8_t status) {
      exit_statuses_.push_back(status);
    };
    if (pc) {
      config.debug_exit_mode = DebugExitMode::kStatusLatch;
      config.irq_sink = &irqs_;
      config.pc_devices = true;
      config.vcpu_count = 2;
      config.ram_bytes = 128 << 20;
      config.on_reset = [this](const std::string& how) {
        ends_.push_back(how);
      };
      config.on_power_off = config.on_reset;
    }
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

  // The PC devices answer as pc_machine.h says.
  void ExpectPcDevicesAnswer() {
    WritePort(pc::kFwCfgSelectorPort, pc::kFwCfgSignatureKey, 2);
    std::string signature;
    for (int i = 0; i < 4; ++i) {
      signature.push_back(static_cast<char>(ReadPort(pc::kFwCfgDataPort, 1)));
    }
    EXPECT_EQ(signature, "QEMU");
    WritePort(pc::kFwCfgSelectorPort, pc::kFwCfgCpuCountKey, 2);
    EXPECT_EQ(ReadPort(pc::kFwCfgDataPort, 1), 2u);
    WritePort(pc::kCmosIndexPort, 0x0D, 1);
    EXPECT_EQ(ReadPort(pc::kCmosDataPort, 1), 0x80u);
    WritePort(pc::kI8042CommandPort, 0xAA, 1);
    EXPECT_EQ(ReadPort(pc::kI8042DataPort, 1), 0x55u);
  }

  int null_fd_ = -1;
  FakeIrqSink irqs_;
  std::vector<std::string> ends_;
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

TEST_F(DeviceSetTest, KernelGuestsGetThePcDevices) {
  EXPECT_EQ(ReadPort(pc::kCmosDataPort, 1), 0xFFu) << "no RTC for payloads";
  Build(true);
  ExpectPcDevicesAnswer();
  WritePort(abi::kDebugExitPort, 3, 1);
  EXPECT_TRUE(exit_statuses_.empty()) << "Linux's port 0xF4 only latches";
  EXPECT_EQ(devices_->latched_status(), 3);
  // The UART's interrupt is ISA IRQ 4.
  WritePort(abi::kSerialPort + 1, 0x02, 1);
  EXPECT_TRUE(irqs_.Level(pc::kSerialIrq));
  WritePort(
      pc::kAcpiSleepControlPort,
      (pc::kAcpiS5SleepType << pc::kAcpiSleepTypeShift) | pc::kAcpiSleepEnable,
      1);
  EXPECT_EQ(ends_,
            (std::vector<std::string>{"the guest powered off (ACPI S5)"}));
}

TEST_F(DeviceSetTest, ThePcDevicesNeedTheirCallbacks) {
  DeviceSetConfig config;
  config.serial_fd = null_fd_;
  config.on_guest_exit = [](uint8_t) {};
  config.pc_devices = true;
  EXPECT_FALSE(DeviceSet::Create(std::move(config)).ok());
}

TEST_F(DeviceSetTest, DebugExitNeedsACallback) {
  DeviceSetConfig config;
  config.serial_fd = null_fd_;
  EXPECT_FALSE(DeviceSet::Create(std::move(config)).ok());
}

// What a guest may write to any port or device register, at any width: every
// access completes, and afterwards the devices still answer as the ABI says.
void SweepGarbage(DeviceSetTest* test, DeviceSet& devices) {
  std::mt19937_64 random(20261130);
  for (uint32_t port = 0; port <= 0xFFFF; ++port) {
    if (port == abi::kDebugExitPort) continue;  // would end the run, by design
    for (size_t size : {1, 2, 4}) {
      test->WritePort(static_cast<uint16_t>(port),
                      static_cast<uint32_t>(random()), size);
      test->ReadPort(static_cast<uint16_t>(port), size);
    }
  }
  // PCI configuration: random addresses (enable bit or not, any bus, slot,
  // function and register) and random data.
  for (int i = 0; i < 100000; ++i) {
    test->WritePort(abi::kPciConfigAddressPort, static_cast<uint32_t>(random()),
                    4);
    const uint16_t data_port =
        abi::kPciConfigDataPort + static_cast<uint16_t>(random() % 4);
    test->WritePort(data_port, static_cast<uint32_t>(random()),
                    1 + random() % 2);
    test->ReadPort(data_port, 1);
  }
  // The memory device's whole header, MSI capability included: enabling
  // MSI with a random address and data is the guest's business.
  for (int round = 0; round < 64; ++round) {
    for (uint32_t reg = 0; reg < 256; ++reg) {
      test->WritePort(
          abi::kPciConfigAddressPort,
          0x80000000u | (uint32_t{abi::kPciMemDeviceSlot} << 11) | (reg & 0xFC),
          4);
      const size_t size = size_t{1} << (random() % 3);
      test->WritePort(abi::kPciConfigDataPort + (reg & 3) / size * size,
                      static_cast<uint32_t>(random()), size);
    }
  }
  devices.pcimem_events()->PageAvailable(3);  // events may be on now
  for (uint64_t offset = 0; offset < abi::kPciMemRegistersBarBytes + 16;
       ++offset) {
    for (size_t size : {1, 2, 4, 8}) {
      uint8_t data[8];
      StoreLittleEndian(random(), absl::MakeSpan(data, size));
      const uint64_t address = abi::kPciMemRegistersBarAddress + offset;
      devices.mmio_bus().Write(address, absl::MakeConstSpan(data, size));
      devices.mmio_bus().Read(address, absl::MakeSpan(data, size));
    }
  }
}

TEST_F(DeviceSetTest, GarbageOnEveryPortAndRegisterBreaksNothing) {
  SweepGarbage(this, *devices_);
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

// The same over a kernel guest's PC: the UART with its interrupt and input,
// RTC, i8042, fw_cfg and ACPI registers. Garbage may reset or power off the
// machine (the i8042's reset line, the ACPI registers): at most once each
// device, and nothing else ends the run.
TEST_F(DeviceSetTest, GarbageOnThePcDevicesBreaksNothing) {
  Build(true);
  const std::string typed = "typed\n";
  devices_->serial().QueueInput(absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(typed.data()), typed.size()));
  SweepGarbage(this, *devices_);
  EXPECT_TRUE(exit_statuses_.empty());
  EXPECT_LE(ends_.size(), 2u);
  ExpectPcDevicesAnswer();
  EXPECT_EQ(ReadConfig(abi::kPciMemDeviceSlot, 0),
            (uint32_t{abi::kPciMemDeviceId} << 16) | abi::kPciMemVendorId);
  EXPECT_EQ(ReadRegister(abi::kPciMemRegMagic), abi::kPciMemMagic);
}

}  // namespace
}  // namespace faultline::vmm
