// inject, inject-clear and revoke: steering a running broker in tests.
#include "absl/strings/str_cat.h"
#include "broker/brokerctl/commands.h"
#include "broker/brokerctl/output.h"
#include "proto/faultline/v1/enum_words.h"

namespace faultline::brokerctl {
namespace {

// --retry and --error take the enums' words (enum_words.h), so the proto
// enum is the only list of reasons and kinds.
template <typename Enum>
absl::StatusOr<Enum> ParseEnumFlag(const char* flag, const std::string& text) {
  if (std::optional<Enum> value = v1::EnumFromWord<Enum>(text)) return *value;
  return absl::InvalidArgumentError(absl::StrCat(
      "--", flag, "=", text, " is not one of ", v1::EnumWords<Enum>()));
}

absl::Status NeedSessionAndRegion(const CommandOptions& options,
                                  const char* command) {
  if (options.session.empty() || !options.region.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(command, " needs --session=ID and --region=N"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunInject(const Command& command) {
  if (auto s = ExpectArgs(command, 0, 0,
                          "inject --session=ID --region=N [--first=OFF "
                          "--last=OFF] [--count=N] (--retry=REASON "
                          "[--delay_us=N] | --error=KIND [--message=TEXT] | "
                          "--delay_us=N)");
      !s.ok()) {
    return s;
  }
  const CommandOptions& o = command.options;
  if (auto s = NeedSessionAndRegion(o, "inject"); !s.ok()) return s;
  v1::InjectionRule rule;
  rule.set_session_id(o.session);
  rule.set_region_id(*o.region);
  rule.set_first_offset(o.first.value_or(0));
  rule.set_last_offset(o.last.value_or(0));
  if (o.count.has_value()) {
    if (*o.count < 0 || *o.count > UINT32_MAX) {
      return absl::InvalidArgumentError("inject --count must be 0..2^32-1");
    }
    rule.set_count(static_cast<uint32_t>(*o.count));
  }
  if (!o.retry.empty() && !o.error.empty()) {
    return absl::InvalidArgumentError("give --retry or --error, not both");
  }
  if (!o.retry.empty()) {
    auto reason = ParseEnumFlag<v1::RetryReason>("retry", o.retry);
    if (!reason.ok()) return reason.status();
    rule.mutable_retry()->set_reason(*reason);
    rule.mutable_retry()->set_delay_hint_us(
        static_cast<uint32_t>(o.delay_us.value_or(1000)));
    rule.mutable_retry()->set_detail("injected by brokerctl");
  } else if (!o.error.empty()) {
    auto kind = ParseEnumFlag<v1::ErrorKind>("error", o.error);
    if (!kind.ok()) return kind.status();
    rule.mutable_error()->set_kind(*kind);
    rule.mutable_error()->set_message(
        o.message.empty() ? "injected by brokerctl" : o.message);
  } else if (o.delay_us.has_value()) {
    rule.set_delay_us(*o.delay_us);
  } else {
    return absl::InvalidArgumentError(
        "inject needs --retry=REASON, --error=KIND or --delay_us=N");
  }
  v1::SetInjectionResponse response;
  grpc::Status status = command.client.admin().SetInjection(
      command.client.NewContext().get(), rule, &response);
  if (!status.ok()) return CallError(command.client, status);
  if (command.options.json) {
    command.out << ToJson(response) << "\n";
  } else {
    command.out << "rule " << response.rule_id() << " set\n";
  }
  return absl::OkStatus();
}

absl::Status RunInjectClear(const Command& command) {
  if (auto s = ExpectArgs(command, 0, 1, "inject-clear [RULE]"); !s.ok()) {
    return s;
  }
  v1::ClearInjectionRequest request;
  if (!command.args.empty()) {
    auto rule = ParseNumber("RULE", command.args[0]);
    if (!rule.ok()) return rule.status();
    request.set_rule_id(*rule);
  }
  v1::ClearInjectionResponse response;
  grpc::Status status = command.client.admin().ClearInjection(
      command.client.NewContext().get(), request, &response);
  if (!status.ok()) return CallError(command.client, status);
  if (command.options.json) {
    command.out << ToJson(response) << "\n";
  } else {
    command.out << "cleared " << response.rules_cleared() << " rules\n";
  }
  return absl::OkStatus();
}

absl::Status RunRevoke(const Command& command) {
  if (auto s = ExpectArgs(command, 0, 0,
                          "revoke --session=ID --region=N --offset=OFF");
      !s.ok()) {
    return s;
  }
  if (auto s = NeedSessionAndRegion(command.options, "revoke"); !s.ok()) {
    return s;
  }
  if (!command.options.offset.has_value()) {
    return absl::InvalidArgumentError("revoke needs --offset=OFF");
  }
  v1::RevokeFrameRequest request;
  request.set_session_id(command.options.session);
  request.set_region_id(*command.options.region);
  request.set_offset(*command.options.offset);
  v1::RevokeFrameResponse response;
  grpc::Status status = command.client.admin().RevokeFrame(
      command.client.NewContext().get(), request, &response);
  if (!status.ok()) return CallError(command.client, status);
  if (command.options.json) {
    command.out << ToJson(response) << "\n";
  } else {
    command.out << "revocation " << response.revocation_id() << " sent\n";
  }
  return absl::OkStatus();
}

}  // namespace faultline::brokerctl
