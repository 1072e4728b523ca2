#include "vmm/vcpu/exit_handler.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "proto/guest_abi.h"

namespace faultline::vmm {
namespace {

ExitAction Fail(std::string message) {
  return ExitAction{ExitAction::Kind::kFail, std::move(message)};
}

ExitAction HandlePortIo(kvm_run* run, size_t run_bytes, IoBus& bus) {
  const auto& io = run->io;
  if (io.size != 1 && io.size != 2 && io.size != 4) {
    return Fail(absl::StrFormat("port I/O of %u bytes", io.size));
  }
  const uint64_t bytes = uint64_t{io.size} * io.count;
  if (io.data_offset > run_bytes || bytes > run_bytes - io.data_offset) {
    return Fail(absl::StrFormat("port I/O data [%#x, +%#x) outside kvm_run",
                                io.data_offset, bytes));
  }
  uint8_t* data = reinterpret_cast<uint8_t*>(run) + io.data_offset;
  for (uint32_t i = 0; i < io.count; ++i) {
    auto item = absl::MakeSpan(data + i * io.size, io.size);
    if (io.direction == KVM_EXIT_IO_OUT) {
      bus.Write(io.port, item);
    } else {
      bus.Read(io.port, item);
    }
  }
  return ExitAction{};
}

ExitAction HandleMmio(kvm_run* run, IoBus& bus, const GuestMemory& memory) {
  auto& mmio = run->mmio;
  if (mmio.len == 0 || mmio.len > sizeof(mmio.data)) {
    return Fail(absl::StrFormat("MMIO access of %u bytes at %#x", mmio.len,
                                mmio.phys_addr));
  }
  if (const MappedRegion* region = memory.FindGuestRegion(mmio.phys_addr)) {
    if (!mmio.is_write) std::memset(mmio.data, 0xFF, sizeof(mmio.data));
    ExitAction error{
        ExitAction::Kind::kMemoryError,
        absl::StrFormat("%s of unusable guest-memory page in "
                        "region '%s'",
                        mmio.is_write ? "write" : "read", region->spec.name)};
    error.guest_physical =
        mmio.phys_addr - mmio.phys_addr % guest_abi::kPageBytes;
    return error;
  }
  if (mmio.is_write) {
    bus.Write(mmio.phys_addr, absl::MakeConstSpan(mmio.data, mmio.len));
  } else {
    bus.Read(mmio.phys_addr, absl::MakeSpan(mmio.data, mmio.len));
  }
  return ExitAction{};
}

}  // namespace

ExitAction HandleExit(kvm_run* run, size_t run_bytes,
                      const ExitContext& context) {
  switch (run->exit_reason) {
    case KVM_EXIT_IO:
      return HandlePortIo(run, run_bytes, *context.port_bus);
    case KVM_EXIT_MMIO:
      return HandleMmio(run, *context.mmio_bus, *context.memory);
    case KVM_EXIT_HLT:
      return ExitAction{ExitAction::Kind::kHalt, "the guest halted"};
    case KVM_EXIT_INTR:
      return ExitAction{};
    case KVM_EXIT_SHUTDOWN:
      return ExitAction{ExitAction::Kind::kShutdown,
                        "the guest shut down (triple fault)"};
    case KVM_EXIT_SYSTEM_EVENT:
      return ExitAction{ExitAction::Kind::kShutdown,
                        absl::StrFormat("the guest raised system event %u",
                                        run->system_event.type)};
    case KVM_EXIT_FAIL_ENTRY:
      return Fail(absl::StrFormat(
          "KVM could not enter the guest: hardware entry failure %#x",
          run->fail_entry.hardware_entry_failure_reason));
    case KVM_EXIT_INTERNAL_ERROR:
      return Fail(absl::StrFormat("KVM internal error, suberror %u",
                                  run->internal.suberror));
    default:
      return Fail(
          absl::StrFormat("unexpected KVM exit reason %u", run->exit_reason));
  }
}

}  // namespace faultline::vmm
