#include "guest-drivers/pcimem/config_space.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "proto/guest_abi.h"

namespace faultline::guest {
namespace {

namespace abi = guest_abi;

// A made-up bus 0. BARs behave like hardware: only the address bits above
// the BAR's size are writable, the low type bits are read-only.
class FakeConfigSpace final : public PciConfigAccess {
 public:
  struct Function {
    uint32_t dwords[64] = {};
    uint64_t bar_writable[6] = {};  // per BAR dword: writable bits
    int writes_while_decoding = 0;  // BAR writes with memory decode on
  };

  Function& Add(uint8_t slot, uint8_t function, uint16_t vendor,
                uint16_t device) {
    Function& f = functions_[{slot, function}];
    f.dwords[0] = (static_cast<uint32_t>(device) << 16) | vendor;
    f.dwords[1] = kPciCommandMemorySpace;  // decoding on, as firmware leaves it
    return f;
  }

  // BAR0: 32-bit memory BAR; BAR2/3: 64-bit prefetchable, as the VMM makes.
  Function& AddPciMem(uint8_t slot, uint64_t registers_bytes,
                      uint64_t window_bytes) {
    Function& f = Add(slot, 0, abi::kPciMemVendorId, abi::kPciMemDeviceId);
    f.dwords[4] = static_cast<uint32_t>(abi::kPciMemRegistersBarAddress);
    f.bar_writable[0] = ~(registers_bytes - 1) & 0xFFFFFFF0;
    const uint64_t window = abi::kPciMemWindowBarAddress;
    f.dwords[6] =
        static_cast<uint32_t>(window) | kPciBarType64 | kPciBarPrefetchable;
    f.dwords[7] = static_cast<uint32_t>(window >> 32);
    const uint64_t mask = ~(window_bytes - 1);
    f.bar_writable[2] = mask & 0xFFFFFFF0;
    f.bar_writable[3] = mask >> 32;
    return f;
  }

  uint32_t Read32(uint8_t slot, uint8_t function, uint8_t offset) override {
    auto it = functions_.find({slot, function});
    if (it == functions_.end()) return 0xFFFFFFFF;  // no device answers
    return it->second.dwords[offset / 4];
  }

  void Write32(uint8_t slot, uint8_t function, uint8_t offset,
               uint32_t value) override {
    auto it = functions_.find({slot, function});
    if (it == functions_.end()) return;
    Function& f = it->second;
    const int index = offset / 4;
    if (index >= 4 && index < 10) {
      if (f.dwords[1] & kPciCommandMemorySpace) ++f.writes_while_decoding;
      const uint32_t writable =
          static_cast<uint32_t>(f.bar_writable[index - 4]);
      f.dwords[index] = (f.dwords[index] & ~writable) | (value & writable);
    } else if (index == 1) {
      f.dwords[1] = value & 0xFFFF;
    }
  }

 private:
  std::map<std::pair<int, int>, Function> functions_;
};

constexpr uint64_t kWindowBytes = 64ull << 20;

TEST(ProbePciMem, FindsAndSizesTheDevice) {
  FakeConfigSpace config;
  config.Add(0, 0, abi::kHostBridgeVendorId, abi::kHostBridgeDeviceId);
  FakeConfigSpace::Function& device =
      config.AddPciMem(abi::kPciMemDeviceSlot, 0x1000, kWindowBytes);
  const FakeConfigSpace::Function before = device;

  PciMemLocation location;
  ErrorMessage error;
  ASSERT_TRUE(ProbePciMem(config, &location, &error)) << error.text();
  EXPECT_EQ(location.slot, abi::kPciMemDeviceSlot);
  EXPECT_EQ(location.function, 0);
  EXPECT_EQ(location.registers_base, abi::kPciMemRegistersBarAddress);
  EXPECT_EQ(location.registers_bytes, 0x1000u);
  EXPECT_EQ(location.window_base, abi::kPciMemWindowBarAddress);
  EXPECT_EQ(location.window_bytes, kWindowBytes);
  // Sizing restored every BAR and happened with decoding off.
  for (int dword = 4; dword < 10; ++dword) {
    EXPECT_EQ(device.dwords[dword], before.dwords[dword]) << dword;
  }
  EXPECT_EQ(device.writes_while_decoding, 0);
  EXPECT_TRUE(device.dwords[1] & kPciCommandMemorySpace);
}

TEST(ProbePciMem, SizesAWindowLargerThanFourGiB) {
  FakeConfigSpace config;
  config.AddPciMem(1, 0x1000, 4ull << 30);
  PciMemLocation location;
  ErrorMessage error;
  ASSERT_TRUE(ProbePciMem(config, &location, &error)) << error.text();
  EXPECT_EQ(location.window_bytes, 4ull << 30);
}

TEST(ProbePciMem, FindsTheDeviceBehindAMultiFunctionSlot) {
  FakeConfigSpace config;
  config.Add(3, 0, 0x8086, 0x1234).dwords[3] = 0x80u << 16;  // multi-function
  FakeConfigSpace::Function& device =
      config.Add(3, 2, abi::kPciMemVendorId, abi::kPciMemDeviceId);
  FakeConfigSpace scratch;
  const FakeConfigSpace::Function& shape =
      scratch.AddPciMem(0, 0x1000, 1 << 20);
  for (int i = 4; i < 10; ++i) device.dwords[i] = shape.dwords[i];
  for (int i = 0; i < 6; ++i) device.bar_writable[i] = shape.bar_writable[i];

  PciMemLocation location;
  ErrorMessage error;
  ASSERT_TRUE(ProbePciMem(config, &location, &error)) << error.text();
  EXPECT_EQ(location.slot, 3);
  EXPECT_EQ(location.function, 2);
}

TEST(ProbePciMem, AbsentDeviceIsAClearError) {
  FakeConfigSpace config;
  config.Add(0, 0, abi::kHostBridgeVendorId, abi::kHostBridgeDeviceId);
  PciMemLocation location;
  ErrorMessage error;
  EXPECT_FALSE(ProbePciMem(config, &location, &error));
  EXPECT_STREQ(error.text(),
               "PCI memory device fa17:0001 not found on bus 0 (1 other "
               "functions present)");
}

TEST(ProbePciMem, IoBarIsRejected) {
  FakeConfigSpace config;
  config.AddPciMem(1, 0x1000, kWindowBytes).dwords[4] = 0xC001;
  PciMemLocation location;
  ErrorMessage error;
  EXPECT_FALSE(ProbePciMem(config, &location, &error));
  EXPECT_STREQ(error.text(),
               "BAR0 is 0x0000c001, expected a 32-bit memory BAR");
}

TEST(ProbePciMem, ThirtyTwoBitWindowBarIsRejected) {
  FakeConfigSpace config;
  config.AddPciMem(1, 0x1000, kWindowBytes).dwords[6] &= ~kPciBarType64;
  PciMemLocation location;
  ErrorMessage error;
  EXPECT_FALSE(ProbePciMem(config, &location, &error));
  EXPECT_NE(std::string(error.text()).find("64-bit prefetchable"),
            std::string::npos);
}

TEST(ProbePciMem, NonPrefetchableWindowIsRejected) {
  FakeConfigSpace config;
  config.AddPciMem(1, 0x1000, kWindowBytes).dwords[6] &= ~kPciBarPrefetchable;
  PciMemLocation location;
  ErrorMessage error;
  EXPECT_FALSE(ProbePciMem(config, &location, &error));
}

// An unimplemented BAR has no writable address bits and reads back zero
// address bits: its size mask is zero.
TEST(ProbePciMem, ZeroSizedBarsAreRejected) {
  for (int bar : {0, 2}) {
    FakeConfigSpace config;
    FakeConfigSpace::Function& device = config.AddPciMem(1, 0x1000, 1 << 20);
    device.dwords[4 + bar] &= 0xF;
    device.bar_writable[bar] = 0;
    if (bar == 2) {
      device.dwords[7] = 0;
      device.bar_writable[3] = 0;
    }
    PciMemLocation location;
    ErrorMessage error;
    EXPECT_FALSE(ProbePciMem(config, &location, &error)) << bar;
    EXPECT_NE(std::string(error.text()).find("zero or not a power of two"),
              std::string::npos)
        << error.text();
  }
}

TEST(ProbePciMem, NonContiguousSizeMaskIsRejected) {
  FakeConfigSpace config;
  config.AddPciMem(1, 0x1000, kWindowBytes).bar_writable[2] = 0xFF0F0000;
  PciMemLocation location;
  ErrorMessage error;
  EXPECT_FALSE(ProbePciMem(config, &location, &error));
}

TEST(ProbePciMem, UnassignedWindowIsRejected) {
  FakeConfigSpace config;
  FakeConfigSpace::Function& device = config.AddPciMem(1, 0x1000, 1 << 20);
  device.dwords[6] = kPciBarType64 | kPciBarPrefetchable;
  device.dwords[7] = 0;
  PciMemLocation location;
  ErrorMessage error;
  EXPECT_FALSE(ProbePciMem(config, &location, &error));
  EXPECT_NE(std::string(error.text()).find("window BAR at 0x0"),
            std::string::npos)
      << error.text();
}

TEST(ProbePciMem, WindowBeyondTheIdentityMapIsRejected) {
  FakeConfigSpace config;
  FakeConfigSpace::Function& device = config.AddPciMem(1, 0x1000, 1 << 20);
  device.dwords[7] = 0x10;  // 64 GiB
  PciMemLocation location;
  ErrorMessage error;
  EXPECT_FALSE(ProbePciMem(config, &location, &error));
}

TEST(ProbePciMem, BridgeHeaderIsRejected) {
  FakeConfigSpace config;
  config.AddPciMem(1, 0x1000, 1 << 20).dwords[3] = 0x01u << 16;
  PciMemLocation location;
  ErrorMessage error;
  EXPECT_FALSE(ProbePciMem(config, &location, &error));
  EXPECT_STREQ(error.text(),
               "PCI memory device at 00:01.0 has header type 1, expected 0");
}

}  // namespace
}  // namespace faultline::guest
