// An 8250/16550A-compatible UART (COM1): THR/RBR, IER, IIR/FCR, LCR (with
// DLAB for DLL/DLM), MCR (with loopback), LSR, MSR, SCR. Output goes to a
// file descriptor at once, so the transmitter is always empty. Input comes
// from QueueInput() (serial_input.h feeds it from stdin or a socket) through
// a receive FIFO. With an IrqLine it raises its interrupt as a 16550 does:
// received data available (IER bit 0) and transmitter empty (IER bit 1, set
// again after every byte sent and whenever that bit is turned on); the level
// goes to the line on every change. Polling drivers (payloads, the kernel's
// console) need neither. Linux's tty output waits for the THRE interrupt.
//
// Threading: safe from any thread (one lock); the IrqLine is driven under it.
#ifndef FAULTLINE_VMM_DEVICES_SERIAL_H_
#define FAULTLINE_VMM_DEVICES_SERIAL_H_

#include <cstdint>
#include <deque>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "vmm/devices/io_handler.h"
#include "vmm/devices/irq_line.h"

namespace faultline::vmm {

class Serial8250 : public IoHandler {
 public:
  static constexpr uint64_t kRegisterCount = 8;
  // Received bytes the UART holds before QueueInput() stops taking more (a
  // 16550 has 16; more makes a pasted line cost fewer wakeups).
  static constexpr size_t kReceiveFifoBytes = 64;

  // Writes guest output to `output_fd` (not owned). `irq` (not owned, may be
  // null) is the UART's interrupt line.
  explicit Serial8250(int output_fd, IrqLine* irq = nullptr)
      : output_fd_(output_fd), irq_(irq) {}

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

  // Appends what fits of `bytes` to the receive FIFO; returns how many.
  size_t QueueInput(absl::Span<const uint8_t> bytes);
  // Waits up to `timeout` for room in the receive FIFO; true when there is.
  bool WaitForInputRoom(absl::Duration timeout);

  // When the guest first sent a byte with the transmitter-empty interrupt
  // on: interrupt-driven output, which on Linux is user space's (the
  // kernel's console polls).
  std::optional<absl::Time> first_interrupt_driven_output() const;

 private:
  uint8_t ReadRegister(uint64_t offset) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void WriteRegister(uint64_t offset, uint8_t value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Transmit(uint8_t value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The pending interrupt's IIR identification (0x01: none).
  uint8_t InterruptId() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void UpdateIrq() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  bool data_ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const int output_fd_;
  IrqLine* const irq_;
  mutable absl::Mutex mutex_;
  uint8_t ier_ ABSL_GUARDED_BY(mutex_) = 0;
  uint8_t lcr_ ABSL_GUARDED_BY(mutex_) = 0x03;  // 8N1
  uint8_t mcr_ ABSL_GUARDED_BY(mutex_) = 0;
  uint8_t scr_ ABSL_GUARDED_BY(mutex_) = 0;
  uint8_t dll_ ABSL_GUARDED_BY(mutex_) = 0x01;  // 115200 baud
  uint8_t dlm_ ABSL_GUARDED_BY(mutex_) = 0;
  bool fifo_enabled_ ABSL_GUARDED_BY(mutex_) = false;
  bool thr_empty_pending_ ABSL_GUARDED_BY(mutex_) = false;
  std::deque<uint8_t> receive_ ABSL_GUARDED_BY(mutex_);
  uint8_t loopback_data_ ABSL_GUARDED_BY(mutex_) = 0;
  bool loopback_ready_ ABSL_GUARDED_BY(mutex_) = false;
  std::optional<absl::Time> first_interrupt_output_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_SERIAL_H_
