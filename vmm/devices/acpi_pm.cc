#include "vmm/devices/acpi_pm.h"

#include "proto/pc_machine.h"

namespace faultline::vmm {
namespace {

namespace pc = ::faultline::pc_machine;

constexpr uint64_t kControlOffset = 0;
constexpr uint64_t kStatusOffset = 1;
constexpr uint64_t kResetOffset = 2;
static_assert(pc::kAcpiSleepStatusPort ==
                  pc::kAcpiSleepControlPort + kStatusOffset &&
              pc::kAcpiResetPort == pc::kAcpiSleepControlPort + kResetOffset);

}  // namespace

void AcpiPm::Read(uint64_t offset, absl::Span<uint8_t> data) {
  // No wake status, and the control and reset registers read as zero.
  (void)offset;
  StoreLittleEndian(0, data);
}

void AcpiPm::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  if (data.empty()) return;
  const uint8_t value = data[0];
  if (offset == kControlOffset && (value & pc::kAcpiSleepEnable) != 0) {
    const uint8_t type =
        (value & pc::kAcpiSleepTypeMask) >> pc::kAcpiSleepTypeShift;
    if (type == pc::kAcpiS5SleepType) {
      if (!ended_.exchange(true)) {
        on_power_off_("the guest powered off (ACPI S5)");
      }
      return;
    }
  } else if (offset == kResetOffset && value == pc::kAcpiResetValue) {
    if (!ended_.exchange(true)) {
      on_reset_("the guest reset the machine through the ACPI reset register");
    }
    return;
  } else if (offset == kStatusOffset) {
    return;  // write-one-to-clear of a status that is never set
  }
  ++ignored_writes_;
}

}  // namespace faultline::vmm
