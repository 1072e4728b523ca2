#include "vmm/vcpu/exit_handler.h"

#include <cstring>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/guest_abi.h"
#include "vmm/devices/debug_exit.h"
#include "vmm/devices/io_handler.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;

class Register : public IoHandler {
 public:
  void Read(uint64_t offset, absl::Span<uint8_t> data) override {
    reads.push_back(offset);
    StoreLittleEndian(value, data);
  }
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override {
    writes.push_back(LoadLittleEndian(data));
    (void)offset;
  }
  uint64_t value = 0xA5A5A5A5;
  std::vector<uint64_t> reads;
  std::vector<uint64_t> writes;
};

class ExitHandlerTest : public ::testing::Test {
 protected:
  ExitHandlerTest() : buffer_(8192), port_bus_("pio"), mmio_bus_("mmio") {
    EXPECT_TRUE(port_bus_.Add(0x3F8, 8, &serial_like_, "reg").ok());
    EXPECT_TRUE(mmio_bus_.Add(0xC0000000, 0x1000, &mmio_reg_, "mmio").ok());
    MemoryLayout layout;
    EXPECT_TRUE(layout.Add({1, "ram", RegionKind::kRam, 0, 1 << 20}).ok());
    EXPECT_TRUE(layout
                    .Add({2, "pcimem", RegionKind::kDeviceWindow,
                          guest_abi::kPciMemWindowBarAddress, 64 << 10})
                    .ok());
    auto memory = GuestMemory::Create(layout);
    EXPECT_TRUE(memory.ok()) << memory.status();
    if (memory.ok()) memory_ = *std::move(memory);
  }
  kvm_run* run() { return reinterpret_cast<kvm_run*>(buffer_.data()); }
  ExitAction Handle() {
    return HandleExit(run(), buffer_.size(),
                      ExitContext{&port_bus_, &mmio_bus_, memory_.get()});
  }

  std::vector<uint8_t> buffer_;
  IoBus port_bus_;
  IoBus mmio_bus_;
  std::unique_ptr<GuestMemory> memory_;
  Register serial_like_;
  Register mmio_reg_;
};

TEST_F(ExitHandlerTest, PortOutAndIn) {
  run()->exit_reason = KVM_EXIT_IO;
  run()->io.direction = KVM_EXIT_IO_OUT;
  run()->io.size = 1;
  run()->io.port = 0x3F8;
  run()->io.count = 3;
  run()->io.data_offset = 4096;
  std::memcpy(buffer_.data() + 4096, "abc", 3);
  EXPECT_EQ(Handle().kind, ExitAction::Kind::kContinue);
  EXPECT_EQ(serial_like_.writes, (std::vector<uint64_t>{'a', 'b', 'c'}));

  run()->io.direction = KVM_EXIT_IO_IN;
  run()->io.size = 4;
  run()->io.count = 1;
  run()->io.port = 0x3FC;
  EXPECT_EQ(Handle().kind, ExitAction::Kind::kContinue);
  uint32_t in;
  std::memcpy(&in, buffer_.data() + 4096, 4);
  EXPECT_EQ(in, 0xA5A5A5A5u);
  EXPECT_EQ(serial_like_.reads, (std::vector<uint64_t>{4}));

  run()->io.port = 0x80;  // nothing there: all-ones
  EXPECT_EQ(Handle().kind, ExitAction::Kind::kContinue);
  std::memcpy(&in, buffer_.data() + 4096, 4);
  EXPECT_EQ(in, 0xFFFFFFFFu);
}

TEST_F(ExitHandlerTest, PortDataOutsideRunIsAFailureNotACrash) {
  run()->exit_reason = KVM_EXIT_IO;
  run()->io.direction = KVM_EXIT_IO_OUT;
  run()->io.size = 4;
  run()->io.count = 2000;
  run()->io.data_offset = 4096;
  ExitAction action = Handle();
  EXPECT_EQ(action.kind, ExitAction::Kind::kFail);
  EXPECT_THAT(action.message, HasSubstr("outside kvm_run"));
  run()->io.count = 1;
  run()->io.size = 3;
  EXPECT_EQ(Handle().kind, ExitAction::Kind::kFail);
}

TEST_F(ExitHandlerTest, MmioReadAndWrite) {
  run()->exit_reason = KVM_EXIT_MMIO;
  run()->mmio.phys_addr = 0xC0000018;
  run()->mmio.len = 4;
  run()->mmio.is_write = 1;
  StoreLittleEndian(0x1234, absl::MakeSpan(run()->mmio.data, 4));
  EXPECT_EQ(Handle().kind, ExitAction::Kind::kContinue);
  EXPECT_EQ(mmio_reg_.writes, (std::vector<uint64_t>{0x1234}));
  run()->mmio.is_write = 0;
  run()->mmio.len = 8;
  EXPECT_EQ(Handle().kind, ExitAction::Kind::kContinue);
  EXPECT_EQ(mmio_reg_.reads, (std::vector<uint64_t>{0x18}));
  run()->mmio.len = 9;
  EXPECT_EQ(Handle().kind, ExitAction::Kind::kFail);
}

// KVM exits to MMIO inside a memslot only when the host page is unusable
// (a poisoned page on 6.18): a memory error at that page, never a device.
TEST_F(ExitHandlerTest, MmioIntoGuestMemoryIsAMemoryError) {
  run()->exit_reason = KVM_EXIT_MMIO;
  run()->mmio.phys_addr = 0x3008;
  run()->mmio.len = 8;
  run()->mmio.is_write = 0;
  std::memset(run()->mmio.data, 0x11, sizeof(run()->mmio.data));
  ExitAction read = Handle();
  EXPECT_EQ(read.kind, ExitAction::Kind::kMemoryError);
  EXPECT_EQ(read.guest_physical, 0x3000u);
  EXPECT_THAT(read.message, HasSubstr("region 'ram'"));
  for (uint8_t byte : run()->mmio.data) EXPECT_EQ(byte, 0xFF);

  run()->mmio.phys_addr = guest_abi::kPciMemWindowBarAddress + 0x2010;
  run()->mmio.is_write = 1;
  ExitAction write = Handle();
  EXPECT_EQ(write.kind, ExitAction::Kind::kMemoryError);
  EXPECT_EQ(write.guest_physical, guest_abi::kPciMemWindowBarAddress + 0x2000);
  EXPECT_THAT(write.message, HasSubstr("write"));
  EXPECT_TRUE(mmio_reg_.reads.empty());
  EXPECT_TRUE(mmio_reg_.writes.empty());

  run()->mmio.phys_addr = 1 << 20;  // just past RAM: an ordinary MMIO miss
  run()->mmio.is_write = 0;
  EXPECT_EQ(Handle().kind, ExitAction::Kind::kContinue);
}

TEST_F(ExitHandlerTest, DebugExitThroughThePortBus) {
  int status = -1;
  DebugExit exit_port([&](uint8_t value) { status = value; });
  ASSERT_TRUE(port_bus_.Add(0xF4, DebugExit::kSize, &exit_port, "exit").ok());
  run()->exit_reason = KVM_EXIT_IO;
  run()->io.direction = KVM_EXIT_IO_OUT;
  run()->io.size = 4;
  run()->io.port = 0xF4;
  run()->io.count = 1;
  run()->io.data_offset = 4096;
  const uint32_t value = 0x102;
  std::memcpy(buffer_.data() + 4096, &value, 4);
  EXPECT_EQ(Handle().kind, ExitAction::Kind::kContinue);
  EXPECT_EQ(status, 2);
}

TEST_F(ExitHandlerTest, TerminalExits) {
  run()->exit_reason = KVM_EXIT_HLT;
  EXPECT_EQ(Handle().kind, ExitAction::Kind::kHalt);
  run()->exit_reason = KVM_EXIT_SHUTDOWN;
  EXPECT_EQ(Handle().kind, ExitAction::Kind::kShutdown);
  run()->exit_reason = KVM_EXIT_SYSTEM_EVENT;
  run()->system_event.type = KVM_SYSTEM_EVENT_RESET;
  EXPECT_EQ(Handle().kind, ExitAction::Kind::kShutdown);
  run()->exit_reason = KVM_EXIT_FAIL_ENTRY;
  run()->fail_entry.hardware_entry_failure_reason = 0x21;
  ExitAction entry = Handle();
  EXPECT_EQ(entry.kind, ExitAction::Kind::kFail);
  EXPECT_THAT(entry.message, HasSubstr("0x21"));
  run()->exit_reason = KVM_EXIT_INTERNAL_ERROR;
  run()->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
  EXPECT_EQ(Handle().kind, ExitAction::Kind::kFail);
  run()->exit_reason = KVM_EXIT_INTR;
  EXPECT_EQ(Handle().kind, ExitAction::Kind::kContinue);
  run()->exit_reason = 999;
  EXPECT_THAT(Handle().message, HasSubstr("999"));
}

}  // namespace
}  // namespace faultline::vmm
