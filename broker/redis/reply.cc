#include "broker/redis/reply.h"

#include <hiredis/hiredis.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace faultline::broker::redis {

Reply Reply::String(std::string text) {
  Reply reply;
  reply.type = Type::kString;
  reply.str = std::move(text);
  return reply;
}

Reply Reply::Status(std::string text) {
  Reply reply = String(std::move(text));
  reply.type = Type::kStatus;
  return reply;
}

Reply Reply::Error(std::string text) {
  Reply reply = String(std::move(text));
  reply.type = Type::kError;
  return reply;
}

Reply Reply::Integer(long long value) {
  Reply reply;
  reply.type = Type::kInteger;
  reply.integer = value;
  return reply;
}

Reply Reply::Array(std::vector<Reply> elements) {
  Reply reply;
  reply.type = Type::kArray;
  reply.elements = std::move(elements);
  return reply;
}

bool Reply::IsErrorCode(absl::string_view code) const {
  if (type != Type::kError || !absl::StartsWith(str, code)) return false;
  return str.size() == code.size() || str[code.size()] == ' ';
}

std::string Reply::Summary() const {
  constexpr size_t kMaxQuoted = 120;
  switch (type) {
    case Type::kString:
      if (str.size() > kMaxQuoted) {
        return absl::StrCat("[", str.size(), " bytes]");
      }
      return absl::StrCat("\"", str, "\"");
    case Type::kStatus:
      return str;
    case Type::kError:
      return absl::StrCat("(error) ", str.substr(0, kMaxQuoted));
    case Type::kInteger:
      return absl::StrCat("(integer) ", integer);
    case Type::kNil:
      return "(nil)";
    case Type::kArray:
      return absl::StrCat("[", elements.size(), " elements]");
  }
  return "(unknown)";
}

Reply FromHiredis(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_STRING:
      return Reply::String(std::string(reply.str, reply.len));
    case REDIS_REPLY_STATUS:
      return Reply::Status(std::string(reply.str, reply.len));
    case REDIS_REPLY_ERROR:
      return Reply::Error(std::string(reply.str, reply.len));
    case REDIS_REPLY_INTEGER:
      return Reply::Integer(reply.integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(reply.elements);
      for (size_t i = 0; i < reply.elements; ++i) {
        elements.push_back(FromHiredis(*reply.element[i]));
      }
      return Reply::Array(std::move(elements));
    }
    default:
      return Reply::Nil();
  }
}

}  // namespace faultline::broker::redis
