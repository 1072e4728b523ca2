// Payload parameters: the space-separated key=value pairs in BootInfo::args.
// A payload asks for each key it knows, then calls CheckNoUnknownKeys(); the
// first problem (malformed pair, bad number, value out of range, unknown
// key) is kept as a message for the payload to print before exiting with 2.
// Portable: built for the host in tests as well.
#ifndef FAULTLINE_GUEST_DRIVERS_RUNTIME_ARGS_H_
#define FAULTLINE_GUEST_DRIVERS_RUNTIME_ARGS_H_

#include <stddef.h>
#include <stdint.h>

#include "guest-drivers/runtime/format.h"

namespace faultline::guest {

class Args {
 public:
  static constexpr size_t kMaxPairs = 32;
  static constexpr size_t kMaxKeyBytes = 32;

  // Parses `text` (NUL-terminated, at most `max_bytes` long): a text that
  // does not end within `max_bytes` is itself an error.
  Args(const char* text, size_t max_bytes);
  Args(const Args&) = delete;
  Args& operator=(const Args&) = delete;

  // Reads `key` as a decimal or 0x-prefixed hex number in [min, max].
  // Required: absent is an error.
  bool GetU64(const char* key, uint64_t min, uint64_t max, uint64_t* value);
  // As GetU64, but an absent key yields `fallback`.
  bool GetOptionalU64(const char* key, uint64_t min, uint64_t max,
                      uint64_t fallback, uint64_t* value);
  // Reads `key` as one of `choices` (its index goes to `*index`); absent
  // yields `fallback_index`.
  bool GetChoice(const char* key, const char* const* choices,
                 size_t choice_count, size_t fallback_index, size_t* index);
  bool Has(const char* key) const;

  // Fails if any key was never asked for (a typo would otherwise be ignored).
  bool CheckNoUnknownKeys();

  bool ok() const { return error_.empty(); }
  const char* error() const { return error_.text(); }

 private:
  struct Pair {
    const char* key;
    size_t key_length;
    const char* value;
    size_t value_length;
    bool used;
  };

  void Parse(const char* text, size_t max_bytes);
  // Returns the pair for `key` (marking it used) or nullptr.
  Pair* Find(const char* key);
  const Pair* Find(const char* key) const;

  Pair pairs_[kMaxPairs] = {};
  size_t pair_count_ = 0;
  ErrorMessage error_;
};

// Parses `length` chars at `text` as a decimal or 0x-prefixed hex number;
// false on an empty text, a bad digit or overflow.
bool ParseU64(const char* text, size_t length, uint64_t* value);

}  // namespace faultline::guest

#endif  // FAULTLINE_GUEST_DRIVERS_RUNTIME_ARGS_H_
