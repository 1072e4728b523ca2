// The power registers of HW-reduced ACPI (pc_machine.h): the sleep control
// register (a write of SLP_TYP = 5 with SLP_EN is S5, power off, which is
// what Linux's `poweroff` does when the FADT points here and the DSDT has
// \_S5), the sleep status register (never a wake event) and the reset
// register (the reset value is a reboot). Both end the run through their
// callbacks; other sleep states are ignored.
//
// Threading: safe from any vCPU thread; each callback runs on the writing
// vCPU's thread, and the first of them ends the run.
#ifndef FAULTLINE_VMM_DEVICES_ACPI_PM_H_
#define FAULTLINE_VMM_DEVICES_ACPI_PM_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "vmm/devices/io_handler.h"

namespace faultline::vmm {

class AcpiPm : public IoHandler {
 public:
  // Control, status and reset registers, one byte each from the base.
  static constexpr uint64_t kPortCount = 3;

  using Callback = std::function<void(const std::string& how)>;
  AcpiPm(Callback on_power_off, Callback on_reset)
      : on_power_off_(std::move(on_power_off)),
        on_reset_(std::move(on_reset)) {}

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

  uint64_t ignored_writes() const { return ignored_writes_.load(); }

 private:
  const Callback on_power_off_;
  const Callback on_reset_;
  std::atomic<bool> ended_{false};
  std::atomic<uint64_t> ignored_writes_{0};
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_ACPI_PM_H_
