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

constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kMcrLoopback = 0x10;
constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrThrEmpty = 0x20;
constexpr uint8_t kLsrIdle = 0x40;
constexpr uint8_t kIirNoInterrupt = 0x01;
constexpr uint8_t kMsrDcdDsrCts = 0xB0;

}  // namespace

void Serial8250::Read(uint64_t offset, absl::Span<uint8_t> data) {
  absl::MutexLock lock(&mutex_);
  for (size_t i = 0; i < data.size(); ++i) data[i] = ReadRegister(offset + i);
}

void Serial8250::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  absl::MutexLock lock(&mutex_);
  for (size_t i = 0; i < data.size(); ++i) WriteRegister(offset + i, data[i]);
}

uint8_t Serial8250::ReadRegister(uint64_t offset) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kData:
      if (dlab) return dll_;
      if (loopback_ready_) {
        loopback_ready_ = false;
        return loopback_data_;
      }
      return 0;
    case kIer:
      return dlab ? dlm_ : ier_;
    case kIir:
      return kIirNoInterrupt;
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr:
      return kLsrThrEmpty | kLsrIdle | (loopback_ready_ ? kLsrDataReady : 0);
    case kMsr:
      return (mcr_ & kMcrLoopback) != 0 ? 0 : kMsrDcdDsrCts;
    case kScr:
      return scr_;
    default:
      return 0xFF;
  }
}

void Serial8250::WriteRegister(uint64_t offset, uint8_t value) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kData:
      if (dlab) {
        dll_ = value;
      } else if ((mcr_ & kMcrLoopback) != 0) {
        loopback_data_ = value;
        loopback_ready_ = true;
      } else {
        // A lost byte of guest output is not worth stopping the VM.
        while (::write(output_fd_, &value, 1) < 0 && errno == EINTR) {
        }
      }
      return;
    case kIer:
      if (dlab) {
        dlm_ = value;
      } else {
        ier_ = value & 0x0F;
      }
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
      return;  // FCR, LSR and MSR writes are ignored
  }
}

}  // namespace faultline::vmm
