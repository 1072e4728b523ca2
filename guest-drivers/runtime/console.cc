#include "guest-drivers/runtime/console.h"

#include <stdint.h>

#include "guest-drivers/runtime/io.h"
#include "guest-drivers/runtime/sync.h"
#include "proto/guest_abi.h"

namespace faultline::guest {
namespace {

constexpr uint16_t kData = guest_abi::kSerialPort;
constexpr uint16_t kInterruptEnable = guest_abi::kSerialPort + 1;
constexpr uint16_t kFifoControl = guest_abi::kSerialPort + 2;
constexpr uint16_t kLineControl = guest_abi::kSerialPort + 3;
constexpr uint16_t kLineStatus = guest_abi::kSerialPort + 5;
constexpr uint8_t kTransmitterEmpty = 0x20;
// A UART that never reports "empty" is written to blindly after this many
// polls, so a VMM with a minimal UART costs one slow wait, not a hang.
constexpr int kMaxPolls = 10000;

// A 16550's transmit FIFO: once it reports empty, this many bytes fit, so
// the status register (a VM exit per read) is polled once per 16 bytes.
constexpr int kFifoBytes = 16;

Spinlock g_console_lock;
bool g_uart_reports_ready = true;  // guarded by g_console_lock
int g_fifo_room = 0;               // guarded by g_console_lock

class SerialSink final : public Sink {
 public:
  void Put(char c) override {
    if (g_fifo_room == 0) {
      WaitForEmptyFifo();
      g_fifo_room = kFifoBytes;
    }
    OutByte(kData, static_cast<uint8_t>(c));
    --g_fifo_room;
  }

 private:
  static void WaitForEmptyFifo() {
    if (!g_uart_reports_ready) return;
    for (int polls = 0; (InByte(kLineStatus) & kTransmitterEmpty) == 0;) {
      if (++polls == kMaxPolls) {
        g_uart_reports_ready = false;
        return;
      }
    }
  }
};

}  // namespace

void InitConsole() {
  OutByte(kInterruptEnable, 0x00);
  OutByte(kLineControl, 0x03);  // 8 data bits, no parity, one stop bit
  OutByte(kFifoControl, 0x07);  // FIFO on, both FIFOs cleared
}

void PrintV(const char* format, va_list args) {
  SerialSink sink;
  SpinlockGuard guard(g_console_lock);
  FormatV(sink, format, args);
}

void Print(const char* format, ...) {
  va_list args;
  va_start(args, format);
  PrintV(format, args);
  va_end(args);
}

void PrintFinalV(const char* prefix, const char* format, va_list args) {
  SerialSink sink;
  // Never released: the run ends after this line. Bounded, in case this vCPU
  // took a CPU exception while printing and so holds the lock itself.
  g_console_lock.TryLockFor(1u << 24);
  Format(sink, "%s", prefix);
  FormatV(sink, format, args);
  sink.Put('\n');
}

}  // namespace faultline::guest
