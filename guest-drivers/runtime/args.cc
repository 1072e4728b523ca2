#include "guest-drivers/runtime/args.h"

namespace faultline::guest {
namespace {

bool SameText(const char* a, size_t a_length, const char* b) {
  size_t i = 0;
  for (; i < a_length; ++i) {
    if (b[i] != a[i]) return false;
  }
  return b[i] == '\0';
}

bool SameSpan(const char* a, size_t a_length, const char* b, size_t b_length) {
  if (a_length != b_length) return false;
  for (size_t i = 0; i < a_length; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// A printable copy of a value for error messages (values are not
// NUL-terminated in place).
void CopyForMessage(const char* text, size_t length, char* out, size_t size) {
  size_t i = 0;
  for (; i < length && i + 1 < size; ++i) out[i] = text[i];
  out[i] = '\0';
}

int DigitValue(char c, unsigned base) {
  int digit = -1;
  if (c >= '0' && c <= '9') {
    digit = c - '0';
  } else if (c >= 'a' && c <= 'f') {
    digit = c - 'a' + 10;
  } else if (c >= 'A' && c <= 'F') {
    digit = c - 'A' + 10;
  }
  return digit >= 0 && static_cast<unsigned>(digit) < base ? digit : -1;
}

}  // namespace

bool ParseU64(const char* text, size_t length, uint64_t* value) {
  unsigned base = 10;
  if (length > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text += 2;
    length -= 2;
  }
  if (length == 0) return false;
  uint64_t result = 0;
  for (size_t i = 0; i < length; ++i) {
    const int digit = DigitValue(text[i], base);
    if (digit < 0) return false;
    if (result > (UINT64_MAX - static_cast<uint64_t>(digit)) / base) {
      return false;
    }
    result = result * base + static_cast<uint64_t>(digit);
  }
  *value = result;
  return true;
}

Args::Args(const char* text, size_t max_bytes) { Parse(text, max_bytes); }

void Args::Parse(const char* text, size_t max_bytes) {
  size_t end = 0;
  while (end < max_bytes && text[end] != '\0') ++end;
  if (end == max_bytes) {
    error_.Set("arguments are not NUL-terminated within %zu bytes", max_bytes);
    return;
  }
  size_t i = 0;
  while (i < end) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    const size_t token_start = i;
    while (i < end && text[i] != ' ') ++i;
    const char* token = text + token_start;
    const size_t token_length = i - token_start;
    size_t equals = 0;
    while (equals < token_length && token[equals] != '=') ++equals;
    char shown[48];
    CopyForMessage(token, token_length, shown, sizeof(shown));
    if (equals == token_length) {
      error_.Set("argument '%s' is not key=value", shown);
      return;
    }
    if (equals == 0 || equals >= kMaxKeyBytes) {
      error_.Set("argument '%s' has an empty or too long key", shown);
      return;
    }
    if (equals + 1 == token_length) {
      error_.Set("argument '%s' has an empty value", shown);
      return;
    }
    for (size_t p = 0; p < pair_count_; ++p) {
      if (SameSpan(pairs_[p].key, pairs_[p].key_length, token, equals)) {
        error_.Set("argument '%s' repeats a key", shown);
        return;
      }
    }
    if (pair_count_ == kMaxPairs) {
      error_.Set("more than %zu arguments", kMaxPairs);
      return;
    }
    pairs_[pair_count_++] = Pair{token, equals, token + equals + 1,
                                 token_length - equals - 1, false};
  }
}

const Args::Pair* Args::Find(const char* key) const {
  for (size_t p = 0; p < pair_count_; ++p) {
    if (SameText(pairs_[p].key, pairs_[p].key_length, key)) return &pairs_[p];
  }
  return nullptr;
}

Args::Pair* Args::Find(const char* key) {
  Pair* pair = const_cast<Pair*>(static_cast<const Args*>(this)->Find(key));
  if (pair != nullptr) pair->used = true;
  return pair;
}

bool Args::Has(const char* key) const { return Find(key) != nullptr; }

bool Args::GetU64(const char* key, uint64_t min, uint64_t max,
                  uint64_t* value) {
  if (!ok()) return false;
  if (Find(key) == nullptr) {
    error_.Set("missing required argument %s=N", key);
    return false;
  }
  return GetOptionalU64(key, min, max, 0, value);
}

bool Args::GetOptionalU64(const char* key, uint64_t min, uint64_t max,
                          uint64_t fallback, uint64_t* value) {
  if (!ok()) return false;
  const Pair* pair = Find(key);
  if (pair == nullptr) {
    *value = fallback;
    return true;
  }
  char shown[48];
  CopyForMessage(pair->value, pair->value_length, shown, sizeof(shown));
  uint64_t parsed = 0;
  if (!ParseU64(pair->value, pair->value_length, &parsed)) {
    error_.Set("%s=%s is not an unsigned number", key, shown);
    return false;
  }
  if (parsed < min || parsed > max) {
    error_.Set("%s=%s is out of range [%llu, %llu]", key, shown,
               static_cast<unsigned long long>(min),
               static_cast<unsigned long long>(max));
    return false;
  }
  *value = parsed;
  return true;
}

bool Args::GetChoice(const char* key, const char* const* choices,
                     size_t choice_count, size_t fallback_index,
                     size_t* index) {
  if (!ok()) return false;
  const Pair* pair = Find(key);
  if (pair == nullptr) {
    *index = fallback_index;
    return true;
  }
  for (size_t c = 0; c < choice_count; ++c) {
    if (SameText(pair->value, pair->value_length, choices[c])) {
      *index = c;
      return true;
    }
  }
  char shown[48];
  CopyForMessage(pair->value, pair->value_length, shown, sizeof(shown));
  char expected[120];
  BufferSink list(expected, sizeof(expected));
  for (size_t c = 0; c < choice_count; ++c) {
    Format(list, "%s%s", c == 0 ? "" : "|", choices[c]);
  }
  error_.Set("%s=%s is not one of %s", key, shown, expected);
  return false;
}

bool Args::CheckNoUnknownKeys() {
  if (!ok()) return false;
  for (size_t p = 0; p < pair_count_; ++p) {
    if (!pairs_[p].used) {
      char shown[kMaxKeyBytes];
      CopyForMessage(pairs_[p].key, pairs_[p].key_length, shown, sizeof(shown));
      error_.Set("unknown argument '%s'", shown);
      return false;
    }
  }
  return true;
}

}  // namespace faultline::guest
