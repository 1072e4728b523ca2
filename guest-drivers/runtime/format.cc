#include "guest-drivers/runtime/format.h"

namespace faultline::guest {
namespace {

struct Spec {
  bool zero_pad = false;
  bool left_align = false;
  size_t width = 0;
  int long_count = 0;  // 0 int, 1 long, 2 long long (z counts as long)
};

class CountingSink {
 public:
  explicit CountingSink(Sink& sink) : sink_(sink) {}
  void Put(char c) {
    sink_.Put(c);
    ++count_;
  }
  void Repeat(char c, size_t n) {
    for (size_t i = 0; i < n; ++i) Put(c);
  }
  size_t count() const { return count_; }

 private:
  Sink& sink_;
  size_t count_ = 0;
};

// Writes `text` of `length` chars padded to the spec's width. Zero padding
// goes after a sign or 0x prefix, as printf does.
void PutPadded(CountingSink& out, const Spec& spec, const char* prefix,
               const char* text, size_t length) {
  size_t prefix_length = 0;
  while (prefix[prefix_length] != '\0') ++prefix_length;
  const size_t total = prefix_length + length;
  const size_t padding = spec.width > total ? spec.width - total : 0;
  if (!spec.left_align && !spec.zero_pad) out.Repeat(' ', padding);
  for (size_t i = 0; i < prefix_length; ++i) out.Put(prefix[i]);
  if (!spec.left_align && spec.zero_pad) out.Repeat('0', padding);
  for (size_t i = 0; i < length; ++i) out.Put(text[i]);
  if (spec.left_align) out.Repeat(' ', padding);
}

void PutUnsigned(CountingSink& out, const Spec& spec, const char* prefix,
                 uint64_t value, unsigned base, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char reversed[24];
  size_t length = 0;
  do {
    reversed[length++] = digits[value % base];
    value /= base;
  } while (value != 0);
  char text[24];
  for (size_t i = 0; i < length; ++i) text[i] = reversed[length - 1 - i];
  PutPadded(out, spec, prefix, text, length);
}

uint64_t TakeUnsigned(const Spec& spec, va_list& args) {
  if (spec.long_count == 2) return va_arg(args, unsigned long long);
  if (spec.long_count == 1) return va_arg(args, unsigned long);
  return va_arg(args, unsigned int);
}

int64_t TakeSigned(const Spec& spec, va_list& args) {
  if (spec.long_count == 2) return va_arg(args, long long);
  if (spec.long_count == 1) return va_arg(args, long);
  return va_arg(args, int);
}

// Parses flags, width and length after '%'; returns the conversion char's
// position.
const char* ParseSpec(const char* p, Spec* spec) {
  for (;; ++p) {
    if (*p == '0') {
      spec->zero_pad = true;
    } else if (*p == '-') {
      spec->left_align = true;
    } else {
      break;
    }
  }
  while (*p >= '0' && *p <= '9') spec->width = spec->width * 10 + (*p++ - '0');
  if (*p == 'z') {
    spec->long_count = 1;
    ++p;
  }
  while (*p == 'l' && spec->long_count < 2) {
    ++spec->long_count;
    ++p;
  }
  return p;
}

}  // namespace

size_t FormatV(Sink& sink, const char* format, va_list args_in) {
  CountingSink out(sink);
  va_list args;
  va_copy(args, args_in);
  for (const char* p = format; *p != '\0'; ++p) {
    if (*p != '%') {
      out.Put(*p);
      continue;
    }
    const char* start = p;
    Spec spec;
    p = ParseSpec(p + 1, &spec);
    switch (*p) {
      case 'd':
      case 'i': {
        const int64_t value = TakeSigned(spec, args);
        const uint64_t magnitude =
            value < 0 ? 0 - static_cast<uint64_t>(value) : value;
        PutUnsigned(out, spec, value < 0 ? "-" : "", magnitude, 10, false);
        break;
      }
      case 'u':
        PutUnsigned(out, spec, "", TakeUnsigned(spec, args), 10, false);
        break;
      case 'x':
      case 'X':
        PutUnsigned(out, spec, "", TakeUnsigned(spec, args), 16, *p == 'X');
        break;
      case 'p':
        PutUnsigned(out, spec, "0x",
                    reinterpret_cast<uintptr_t>(va_arg(args, void*)), 16,
                    false);
        break;
      case 'c': {
        const char c = static_cast<char>(va_arg(args, int));
        PutPadded(out, Spec{false, spec.left_align, spec.width, 0}, "", &c, 1);
        break;
      }
      case 's': {
        const char* text = va_arg(args, const char*);
        if (text == nullptr) text = "(null)";
        size_t length = 0;
        while (text[length] != '\0') ++length;
        PutPadded(out, Spec{false, spec.left_align, spec.width, 0}, "", text,
                  length);
        break;
      }
      case '%':
        out.Put('%');
        break;
      default:
        // Unknown or truncated conversion: show it as written.
        for (const char* q = start; q <= p && *q != '\0'; ++q) out.Put(*q);
        if (*p == '\0') --p;
        break;
    }
  }
  va_end(args);
  return out.count();
}

size_t Format(Sink& sink, const char* format, ...) {
  va_list args;
  va_start(args, format);
  const size_t count = FormatV(sink, format, args);
  va_end(args);
  return count;
}

BufferSink::BufferSink(char* buffer, size_t capacity)
    : buffer_(buffer), capacity_(capacity) {
  if (capacity_ > 0) buffer_[0] = '\0';
}

void BufferSink::Put(char c) {
  if (length_ + 1 >= capacity_) {
    truncated_ = true;
    return;
  }
  buffer_[length_++] = c;
  buffer_[length_] = '\0';
}

size_t FormatToBuffer(char* buffer, size_t capacity, const char* format, ...) {
  BufferSink sink(buffer, capacity);
  va_list args;
  va_start(args, format);
  FormatV(sink, format, args);
  va_end(args);
  return sink.length();
}

void ErrorMessage::Set(const char* format, ...) {
  if (!empty()) return;
  BufferSink sink(text_, sizeof(text_));
  va_list args;
  va_start(args, format);
  FormatV(sink, format, args);
  va_end(args);
}

}  // namespace faultline::guest
