// The words protocol v1's enums go by on command lines and in metric labels:
// an enum value's name without its enum's prefix, in lower case
// (RETRY_REASON_OVER_QUOTA is "over_quota"). Derived from the enum's
// descriptor, so a value added to broker.proto gets its word with it and no
// table of words is written anywhere else.
#ifndef FAULTLINE_PROTO_FAULTLINE_V1_ENUM_WORDS_H_
#define FAULTLINE_PROTO_FAULTLINE_V1_ENUM_WORDS_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/generated_enum_reflection.h>

#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace faultline::v1 {
namespace enum_words_internal {

// "RETRY_REASON_": the name of the enum's zero value (every v1 enum's is
// <PREFIX>UNSPECIFIED) without "UNSPECIFIED".
inline std::string Prefix(const google::protobuf::EnumDescriptor& type) {
  absl::string_view unspecified = type.FindValueByNumber(0)->name();
  absl::ConsumeSuffix(&unspecified, "UNSPECIFIED");
  return std::string(unspecified);
}

}  // namespace enum_words_internal

template <typename Enum>
std::string EnumWord(Enum value) {
  const google::protobuf::EnumDescriptor& type =
      *google::protobuf::GetEnumDescriptor<Enum>();
  const google::protobuf::EnumValueDescriptor* named =
      type.FindValueByNumber(static_cast<int>(value));
  if (named == nullptr) return absl::StrCat(static_cast<int>(value));
  absl::string_view name = named->name();
  absl::ConsumePrefix(&name, enum_words_internal::Prefix(type));
  return absl::AsciiStrToLower(name);
}

// The value `word` names; nullopt for an unknown word and for the
// UNSPECIFIED value, which no caller may ask for.
template <typename Enum>
std::optional<Enum> EnumFromWord(absl::string_view word) {
  const google::protobuf::EnumDescriptor& type =
      *google::protobuf::GetEnumDescriptor<Enum>();
  const google::protobuf::EnumValueDescriptor* named =
      type.FindValueByName(absl::StrCat(enum_words_internal::Prefix(type),
                                        absl::AsciiStrToUpper(word)));
  if (named == nullptr || named->number() == 0) return std::nullopt;
  return static_cast<Enum>(named->number());
}

// Every value's word but UNSPECIFIED's, in declaration order, joined by
// `separator` (", " for messages, "|" for usage lines).
template <typename Enum>
std::string EnumWords(absl::string_view separator = ", ") {
  const google::protobuf::EnumDescriptor& type =
      *google::protobuf::GetEnumDescriptor<Enum>();
  std::string words;
  for (int i = 0; i < type.value_count(); ++i) {
    if (type.value(i)->number() == 0) continue;
    absl::StrAppend(&words, words.empty() ? "" : separator,
                    EnumWord(static_cast<Enum>(type.value(i)->number())));
  }
  return words;
}

}  // namespace faultline::v1

#endif  // FAULTLINE_PROTO_FAULTLINE_V1_ENUM_WORDS_H_
