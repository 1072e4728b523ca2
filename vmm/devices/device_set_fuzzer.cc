// Fuzzes the whole device model through DeviceSet, as a guest and the fault
// path would drive it: arbitrary sequences of port and MMIO reads and
// writes of any size (PCI configuration space through 0xCF8/0xCFC, the PCI
// memory device's registers, event ring and doorbells, the UART, debug
// exit, and for kernel guests the RTC, i8042, fw_cfg and ACPI registers),
// interleaved with the fault path's window page reports. What must hold: no
// crash and no undefined behaviour for any access. Input: the machine's
// shape, then records of one access each.
#include <fcntl.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "proto/guest_abi.h"
#include "vmm/devices/device_fakes.h"
#include "vmm/devices/device_set.h"

namespace faultline::vmm {
namespace {

enum Access : uint8_t {
  kPortRead,
  kPortWrite,
  kConfigRead,  // a bus 0 register through 0xCF8 then 0xCFC
  kConfigWrite,
  kRegisterRead,  // the PCI memory device's register BAR
  kRegisterWrite,
  kMmioRead,  // anywhere
  kMmioWrite,
  kPageEvent,  // the fault path's side of the window
  kAccessCount,
};

int NullFd() {
  static const int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  return fd;
}

uint64_t Value(FuzzedDataProvider& input) {
  return input.ConsumeIntegral<uint64_t>();
}

void Write(IoBus& bus, uint64_t address, uint64_t value, size_t size) {
  uint8_t data[8];
  for (size_t i = 0; i < size; ++i)
    data[i] = static_cast<uint8_t>(value >> (8 * i));
  bus.Write(address, absl::MakeConstSpan(data, size));
}

void Read(IoBus& bus, uint64_t address, size_t size) {
  uint8_t data[8] = {};
  bus.Read(address, absl::MakeSpan(data, size));
}

void PageEvent(WindowPageEvents* events, FuzzedDataProvider& input) {
  if (events == nullptr) return;
  const uint64_t page = input.ConsumeIntegralInRange<uint64_t>(0, 40);
  const uint8_t reason = input.ConsumeIntegral<uint8_t>();
  switch (input.ConsumeIntegralInRange(0, 4)) {
    case 0:
      events->PageAvailable(page);
      return;
    case 1:
      events->PagePending(page, reason);
      return;
    case 2:
      events->PageError(page, reason);
      return;
    case 3:
      (void)events->BeginRevocation(page);
      return;
    default:
      events->PageRevoked(page);
      return;
  }
}

}  // namespace
}  // namespace faultline::vmm

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace faultline::vmm;
  FuzzedDataProvider input(data, size);
  RecordingMsiSink msi;
  RecordingRequests requests;
  FakeIrqSink irqs;
  msi.set_fail(input.ConsumeBool());
  DeviceSetConfig config;
  config.serial_fd = NullFd();
  config.pcimem_bytes = input.ConsumeIntegralInRange<uint64_t>(0, 32) * 4096;
  if (input.ConsumeBool()) config.pcimem_msi = &msi;
  if (input.ConsumeBool()) config.pcimem_requests = &requests;
  config.on_guest_exit = [](uint8_t) {};
  if (input.ConsumeBool()) {
    config.debug_exit_mode = DebugExitMode::kStatusLatch;
    config.irq_sink = &irqs;
    config.pc_devices = true;
    config.vcpu_count = input.ConsumeIntegralInRange<uint32_t>(1, 8);
    config.ram_bytes = 128 << 20;
    config.on_reset = [](const std::string&) {};
    config.on_power_off = config.on_reset;
    config.rtc_clock = [] { return absl::FromUnixSeconds(1700000000); };
  }
  absl::StatusOr<std::unique_ptr<DeviceSet>> devices =
      DeviceSet::Create(std::move(config));
  if (!devices.ok()) return 0;
  IoBus& ports = (*devices)->port_bus();
  IoBus& mmio = (*devices)->mmio_bus();
  constexpr size_t kSizes[] = {1, 2, 4, 8};
  while (input.remaining_bytes() > 0) {
    const auto access = static_cast<Access>(
        input.ConsumeIntegralInRange<int>(0, kAccessCount - 1));
    // Port I/O is at most 4 bytes wide (in/out); MMIO up to 8.
    const bool port = access == kPortRead || access == kPortWrite ||
                      access == kConfigRead || access == kConfigWrite;
    const size_t bytes = kSizes[input.ConsumeIntegralInRange(0, port ? 2 : 3)];
    switch (access) {
      case kPortRead:
        Read(ports, input.ConsumeIntegral<uint16_t>(), bytes);
        break;
      case kPortWrite:
        Write(ports, input.ConsumeIntegral<uint16_t>(), Value(input), bytes);
        break;
      case kConfigRead:
      case kConfigWrite: {
        Write(ports, faultline::guest_abi::kPciConfigAddressPort,
              input.ConsumeIntegral<uint32_t>() | 0x80000000u, 4);
        const uint16_t port = faultline::guest_abi::kPciConfigDataPort +
                              input.ConsumeIntegralInRange<uint16_t>(0, 3);
        if (access == kConfigRead) {
          Read(ports, port, bytes);
        } else {
          Write(ports, port, Value(input), bytes);
        }
        break;
      }
      case kRegisterRead:
        Read(mmio,
             faultline::guest_abi::kPciMemRegistersBarAddress +
                 input.ConsumeIntegralInRange<uint64_t>(0, 0x1007),
             bytes);
        break;
      case kRegisterWrite:
        Write(mmio,
              faultline::guest_abi::kPciMemRegistersBarAddress +
                  input.ConsumeIntegralInRange<uint64_t>(0, 0x1007),
              Value(input), bytes);
        break;
      case kMmioRead:
        Read(mmio, input.ConsumeIntegral<uint64_t>(), bytes);
        break;
      case kMmioWrite:
        Write(mmio, input.ConsumeIntegral<uint64_t>(), Value(input), bytes);
        break;
      case kPageEvent:
      case kAccessCount:
        PageEvent((*devices)->pcimem_events(), input);
        break;
    }
  }
  return 0;
}
