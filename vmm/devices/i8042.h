// The PC keyboard controller (i8042) at ports 0x60 (data) and 0x64 (status,
// command), as far as a guest without a keyboard needs it: the controller's
// self and interface tests, its command byte, a keyboard that acknowledges
// commands and has no keys, and, above all, the CPU reset line: command 0xFE
// (pulse reset) or an output-port write with bit 0 clear is how `reboot`
// ends a PC (Linux's reboot=k, the default without ACPI). A reset ends the
// run through the callback. Keyboard bytes raise IRQ 1 when the command
// byte enables it.
//
// Threading: safe from any vCPU thread (one lock); the reset callback runs
// on the writing vCPU's thread, at most once, without the lock.
#ifndef FAULTLINE_VMM_DEVICES_I8042_H_
#define FAULTLINE_VMM_DEVICES_I8042_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "vmm/devices/io_handler.h"
#include "vmm/devices/irq_line.h"

namespace faultline::vmm {

class I8042 : public IoHandler {
 public:
  // The device spans 0x60..0x64: offset 0 is data, offset 4 status/command.
  static constexpr uint16_t kBasePort = 0x60;
  static constexpr uint64_t kPortCount = 5;

  // `keyboard_irq` (not owned) may be null.
  I8042(std::function<void(const std::string& how)> on_reset,
        IrqLine* keyboard_irq)
      : on_reset_(std::move(on_reset)), keyboard_irq_(keyboard_irq) {}

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

 private:
  // Returns a reset reason when the write pulls the reset line.
  std::string WriteCommand(uint8_t command)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  std::string WriteData(uint8_t value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void KeyboardCommand(uint8_t command) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Output(uint8_t value, bool from_keyboard)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void UpdateIrq() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Reset(const std::string& how);

  const std::function<void(const std::string&)> on_reset_;
  IrqLine* const keyboard_irq_;
  absl::Mutex mutex_;
  struct Byte {
    uint8_t value;
    bool from_keyboard;
  };
  std::deque<Byte> output_ ABSL_GUARDED_BY(mutex_);
  uint8_t command_byte_ ABSL_GUARDED_BY(mutex_) = 0x45;  // kbd irq, sys, xlate
  uint8_t output_port_ ABSL_GUARDED_BY(mutex_) = 0x01;   // reset line high
  uint8_t pending_command_ ABSL_GUARDED_BY(mutex_) = 0;  // waits for data
  bool last_write_was_command_ ABSL_GUARDED_BY(mutex_) = false;
  bool reset_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_I8042_H_
