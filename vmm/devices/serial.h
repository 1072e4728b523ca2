// An 8250-compatible UART (COM1) for polling drivers: THR/RBR, IER, IIR/FCR,
// LCR (with DLAB for DLL/DLM), MCR, LSR, MSR, SCR. Output goes to a file
// descriptor; there is no input (RBR reads 0, LSR never shows data ready)
// and no interrupts.
//
// Threading: safe from any vCPU thread (one lock).
#ifndef FAULTLINE_VMM_DEVICES_SERIAL_H_
#define FAULTLINE_VMM_DEVICES_SERIAL_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "vmm/devices/io_handler.h"

namespace faultline::vmm {

class Serial8250 : public IoHandler {
 public:
  static constexpr uint64_t kRegisterCount = 8;

  // Writes guest output to `output_fd` (not owned).
  explicit Serial8250(int output_fd) : output_fd_(output_fd) {}

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

 private:
  uint8_t ReadRegister(uint64_t offset) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void WriteRegister(uint64_t offset, uint8_t value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const int output_fd_;
  absl::Mutex mutex_;
  uint8_t ier_ ABSL_GUARDED_BY(mutex_) = 0;
  uint8_t lcr_ ABSL_GUARDED_BY(mutex_) = 0x03;  // 8N1
  uint8_t mcr_ ABSL_GUARDED_BY(mutex_) = 0;
  uint8_t scr_ ABSL_GUARDED_BY(mutex_) = 0;
  uint8_t dll_ ABSL_GUARDED_BY(mutex_) = 0x01;  // 115200 baud
  uint8_t dlm_ ABSL_GUARDED_BY(mutex_) = 0;
  uint8_t loopback_data_ ABSL_GUARDED_BY(mutex_) = 0;
  bool loopback_ready_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_SERIAL_H_
