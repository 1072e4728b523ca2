// A Redis reply as a plain value: what hiredis's reader parsed, copied out so
// that the rest of the client (and its tests, which make replies up) never
// touch hiredis's C structures.
#ifndef FAULTLINE_BROKER_REDIS_REPLY_H_
#define FAULTLINE_BROKER_REDIS_REPLY_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

struct redisReply;

namespace faultline::broker::redis {

struct Reply {
  enum class Type { kString, kArray, kInteger, kNil, kStatus, kError };

  Type type = Type::kNil;
  std::string str;        // kString, kStatus ("OK") and kError ("MOVED ...")
  long long integer = 0;  // kInteger
  std::vector<Reply> elements;  // kArray

  static Reply String(std::string text);
  static Reply Status(std::string text);
  static Reply Error(std::string text);
  static Reply Integer(long long value);
  static Reply Nil() { return Reply(); }
  static Reply Array(std::vector<Reply> elements);

  bool is_error() const { return type == Type::kError; }
  // True for an error reply whose first word is `code` ("MOVED", "NOSCRIPT").
  bool IsErrorCode(absl::string_view code) const;
  // For messages: `"text"`, `(integer) 3`, `(error) MOVED ...`, `[3 elements]`.
  std::string Summary() const;
};

// A copy of what hiredis's reader returned.
Reply FromHiredis(const redisReply& reply);

}  // namespace faultline::broker::redis

#endif  // FAULTLINE_BROKER_REDIS_REPLY_H_
