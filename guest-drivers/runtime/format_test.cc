#include "guest-drivers/runtime/format.h"

#include <cstdint>
#include <cstdio>
#include <string>

#include "gtest/gtest.h"

namespace faultline::guest {
namespace {

template <typename... Args>
std::string Formatted(const char* format, Args... args) {
  char buffer[256];
  FormatToBuffer(buffer, sizeof(buffer), format, args...);
  return buffer;
}

// The formatter's conversions must read like the C library's.
template <typename... Args>
void ExpectLikePrintf(const char* format, Args... args) {
  char expected[256];
  std::snprintf(expected, sizeof(expected), format, args...);
  EXPECT_EQ(Formatted(format, args...), expected) << "format: " << format;
}

TEST(Format, MatchesPrintfForEveryConversion) {
  ExpectLikePrintf("plain text");
  ExpectLikePrintf("%d %d %d", 0, -42, 2147483647);
  ExpectLikePrintf("%d", static_cast<int>(-2147483647 - 1));
  ExpectLikePrintf("%i", 17);
  ExpectLikePrintf("%u %u", 0u, 4294967295u);
  ExpectLikePrintf("%x %X", 0xbeefu, 0xbeefu);
  ExpectLikePrintf("%lx", 0x123456789abcdefUL);
  ExpectLikePrintf("%ld", -9000000000L);
  ExpectLikePrintf("%llu", 18446744073709551615ULL);
  ExpectLikePrintf("%lld", static_cast<long long>(INT64_MIN));
  ExpectLikePrintf("%zu", static_cast<size_t>(123456));
  ExpectLikePrintf("%s and %c", "words", 'z');
  ExpectLikePrintf("100%%");
}

TEST(Format, MatchesPrintfForWidthAndPadding) {
  ExpectLikePrintf("[%5d]", 42);
  ExpectLikePrintf("[%05d]", -42);
  ExpectLikePrintf("[%-5d]", 42);
  ExpectLikePrintf("[%016llx]", 0xabcULL);
  ExpectLikePrintf("[%8s]", "ab");
  ExpectLikePrintf("[%-8s]", "ab");
  ExpectLikePrintf("[%3c]", 'q');
  ExpectLikePrintf("[%2u]", 12345u);
}

TEST(Format, PointerIsHexWithPrefix) {
  EXPECT_EQ(Formatted("%p", reinterpret_cast<void*>(0x1000)), "0x1000");
}

TEST(Format, NullStringIsShownNotFollowed) {
  EXPECT_EQ(Formatted("%s", static_cast<const char*>(nullptr)), "(null)");
}

TEST(Format, UnknownConversionIsShownAsWritten) {
  char buffer[32];
  // Built at run time so the compiler's format check does not reject it.
  std::string format = "a%qb%";
  FormatToBuffer(buffer, sizeof(buffer), format.c_str());
  EXPECT_STREQ(buffer, "a%qb%");
}

TEST(Format, BufferTruncatesAndStaysTerminated) {
  char buffer[6];
  BufferSink sink(buffer, sizeof(buffer));
  Format(sink, "%s", "too long for it");
  EXPECT_STREQ(buffer, "too l");
  EXPECT_TRUE(sink.truncated());
  EXPECT_EQ(sink.length(), 5u);
}

TEST(Format, ReturnsCharactersWritten) {
  char buffer[64];
  BufferSink sink(buffer, sizeof(buffer));
  EXPECT_EQ(Format(sink, "%04x-%s", 0xau, "ok"), 7u);
}

TEST(ErrorMessage, KeepsTheFirstMessage) {
  ErrorMessage error;
  EXPECT_TRUE(error.empty());
  error.Set("first %d", 1);
  error.Set("second %d", 2);
  EXPECT_FALSE(error.empty());
  EXPECT_STREQ(error.text(), "first 1");
}

}  // namespace
}  // namespace faultline::guest
