#include "vmm/devices/serial.h"

#include <unistd.h>

#include <cerrno>

namespace faultline::vmm {
namespace {

constexpr uint64_t kData = 0;  // THR / RBR, DLL with DLAB
constexpr uint64_t kIer = 1;   // DLM with DLAB
constexpr uint64_t kIir = 2;   // FCR on write
constexpr uint64_t kLcr = 3;
constexpr uint64_t kMcr = 4;
constexpr uint64_t kLsr = 5;
constexpr uint64_t kMsr = 6;
constexpr uint64_t kScr = 7;

constexpr uint8_t kIerReceivedData = 0x01;
constexpr uint8_t kIerTransmitterEmpty = 0x02;
constexpr uint8_t kFcrEnableFifo = 0x01;
constexpr uint8_t kFcrClearReceive = 0x02;
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kMcrLoopback = 0x10;
constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrThrEmpty = 0x20;
constexpr uint8_t kLsrIdle = 0x40;
constexpr uint8_t kIirNoInterrupt = 0x01;
constexpr uint8_t kIirTransmitterEmpty = 0x02;
constexpr uint8_t kIirReceivedData = 0x04;
constexpr uint8_t kIirFifosEnabled = 0xC0;
constexpr uint8_t kMsrDcdDsrCts = 0xB0;

}  // namespace

void Serial8250::Read(uint64_t offset, absl::Span<uint8_t> data) {
  absl::MutexLock lock(&mutex_);
  for (size_t i = 0; i < data.size(); ++i) data[i] = ReadRegister(offset + i);
  UpdateIrq();
}

void Serial8250::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  absl::MutexLock lock(&mutex_);
  for (size_t i = 0; i < data.size(); ++i) WriteRegister(offset + i, data[i]);
  UpdateIrq();
}

size_t Serial8250::QueueInput(absl::Span<const uint8_t> bytes) {
  absl::MutexLock lock(&mutex_);
  size_t taken = 0;
  while (taken < bytes.size() && receive_.size() < kReceiveFifoBytes) {
    receive_.push_back(bytes[taken++]);
  }
  UpdateIrq();
  return taken;
}

bool Serial8250::WaitForInputRoom(absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return receive_.size() < kReceiveFifoBytes;
  };
  return mutex_.AwaitWithTimeout(absl::Condition(&room), timeout);
}

std::optional<absl::Time> Serial8250::first_interrupt_driven_output() const {
  absl::MutexLock lock(&mutex_);
  return first_interrupt_output_;
}

bool Serial8250::data_ready() const {
  return (mcr_ & kMcrLoopback) != 0 ? loopback_ready_ : !receive_.empty();
}

uint8_t Serial8250::InterruptId() const {
  if ((ier_ & kIerReceivedData) != 0 && data_ready()) return kIirReceivedData;
  if ((ier_ & kIerTransmitterEmpty) != 0 && thr_empty_pending_) {
    return kIirTransmitterEmpty;
  }
  return kIirNoInterrupt;
}

void Serial8250::UpdateIrq() {
  if (irq_ != nullptr) irq_->Set(InterruptId() != kIirNoInterrupt);
}

uint8_t Serial8250::ReadRegister(uint64_t offset) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kData:
      if (dlab) return dll_;
      if ((mcr_ & kMcrLoopback) != 0) {
        loopback_ready_ = false;
        return loopback_data_;
      }
      if (receive_.empty()) return 0;
      {
        const uint8_t value = receive_.front();
        receive_.pop_front();
        return value;
      }
    case kIer:
      return dlab ? dlm_ : ier_;
    case kIir: {
      const uint8_t id = InterruptId();
      // Reading IIR acknowledges a transmitter-empty interrupt it reports.
      if (id == kIirTransmitterEmpty) thr_empty_pending_ = false;
      return id | (fifo_enabled_ ? kIirFifosEnabled : 0);
    }
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr:
      return kLsrThrEmpty | kLsrIdle | (data_ready() ? kLsrDataReady : 0);
    case kMsr:
      return (mcr_ & kMcrLoopback) != 0 ? 0 : kMsrDcdDsrCts;
    case kScr:
      return scr_;
    default:
      return 0xFF;
  }
}

void Serial8250::Transmit(uint8_t value) {
  // Writing THR clears a pending transmitter-empty interrupt; the byte
  // leaves at once, so the transmitter is empty again and it is pending
  // again: one edge per byte, as a 16550 gives at the end of each byte.
  thr_empty_pending_ = false;
  UpdateIrq();
  if ((mcr_ & kMcrLoopback) != 0) {
    loopback_data_ = value;
    loopback_ready_ = true;
  } else {
    if ((ier_ & kIerTransmitterEmpty) != 0 && !first_interrupt_output_) {
      first_interrupt_output_ = absl::Now();
    }
    // A lost byte of guest output is not worth stopping the VM.
    while (::write(output_fd_, &value, 1) < 0 && errno == EINTR) {
    }
  }
  thr_empty_pending_ = true;
}

void Serial8250::WriteRegister(uint64_t offset, uint8_t value) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kData:
      if (dlab) {
        dll_ = value;
      } else {
        Transmit(value);
      }
      return;
    case kIer:
      if (dlab) {
        dlm_ = value;
        return;
      }
      // Turning the transmitter-empty interrupt on while the transmitter
      // is empty (always, here) makes it pending, as on a 16550.
      if ((value & kIerTransmitterEmpty) != 0 &&
          (ier_ & kIerTransmitterEmpty) == 0) {
        thr_empty_pending_ = true;
      }
      ier_ = value & 0x0F;
      return;
    case kIir:  // FCR
      fifo_enabled_ = (value & kFcrEnableFifo) != 0;
      if ((value & kFcrClearReceive) != 0) receive_.clear();
      return;
    case kLcr:
      lcr_ = value;
      return;
    case kMcr:
      mcr_ = value & 0x1F;
      return;
    case kScr:
      scr_ = value;
      return;
    default:
      return;  // LSR and MSR writes are ignored
  }
}

}  // namespace faultline::vmm
