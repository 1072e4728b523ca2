// A small printf-like formatter for guest code, writing to any Sink.
// Conversions: %d %i %u %x %X %p %s %c %%, length modifiers l, ll, z, flags
// '0' and '-', a decimal width. No floating point (guest code has no SSE).
// Portable: built for the host in tests as well.
#ifndef FAULTLINE_GUEST_DRIVERS_RUNTIME_FORMAT_H_
#define FAULTLINE_GUEST_DRIVERS_RUNTIME_FORMAT_H_

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define FAULTLINE_PRINTF_LIKE(format_index, first_arg) \
  __attribute__((format(printf, format_index, first_arg)))

namespace faultline::guest {

class Sink {
 public:
  virtual void Put(char c) = 0;

 protected:
  ~Sink() = default;
};

// Writes `format` with `args` to `sink`; returns the characters written.
size_t FormatV(Sink& sink, const char* format, va_list args);
size_t Format(Sink& sink, const char* format, ...) FAULTLINE_PRINTF_LIKE(2, 3);

// A sink over a caller's buffer: keeps it NUL-terminated and drops what does
// not fit (truncated() says so).
class BufferSink final : public Sink {
 public:
  BufferSink(char* buffer, size_t capacity);
  void Put(char c) override;
  size_t length() const { return length_; }
  bool truncated() const { return truncated_; }

 private:
  char* buffer_;
  size_t capacity_;
  size_t length_ = 0;
  bool truncated_ = false;
};

// Formats into `buffer` (always NUL-terminated when capacity > 0); returns
// the length written.
size_t FormatToBuffer(char* buffer, size_t capacity, const char* format, ...)
    FAULTLINE_PRINTF_LIKE(3, 4);

// A fixed-size error message, set once by whoever fails first.
class ErrorMessage {
 public:
  constexpr ErrorMessage() = default;
  // Keeps the first message: later failures are usually consequences.
  void Set(const char* format, ...) FAULTLINE_PRINTF_LIKE(2, 3);
  bool empty() const { return text_[0] == '\0'; }
  const char* text() const { return text_; }

 private:
  char text_[200] = {};
};

}  // namespace faultline::guest

#endif  // FAULTLINE_GUEST_DRIVERS_RUNTIME_FORMAT_H_
