// brokerctl: inspect and steer a running faultline broker.
//   brokerctl --broker=unix:PATH|HOST:PORT [--json] COMMAND [ARGS]
// Exit status: 0 done, 1 the broker refused or failed the call, 2 bad
// arguments, 3 the broker cannot be reached.
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "broker/brokerctl/client.h"
#include "broker/brokerctl/commands.h"
#include "proto/faultline/v1/enum_words.h"

ABSL_FLAG(std::string, broker, "unix:/tmp/faultline/broker.sock",
          "The broker: unix:PATH or HOST:PORT.");
ABSL_FLAG(bool, json, false, "Print JSON (one object per line) for scripts.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10),
          "Deadline for connecting and for each call (and for watch "
          "--count to see its events).");
ABSL_FLAG(std::string, count, "",
          "watch: events to print; inject: faults the rule applies to (0 = "
          "until cleared); frames write: frames of pattern.");
ABSL_FLAG(std::string, offset, "", "put: store offset; revoke: BAR offset.");
ABSL_FLAG(std::string, session, "", "inject/revoke: the session id.");
ABSL_FLAG(std::string, region, "", "inject/revoke: the region id.");
ABSL_FLAG(std::string, first, "", "inject: first offset of the range.");
ABSL_FLAG(std::string, last, "", "inject: last offset of the range (incl.).");
ABSL_FLAG(std::string, retry, "",
          "inject: answer retry with this reason (its words: see the usage).");
ABSL_FLAG(std::string, error, "",
          "inject: answer error of this kind (its words: see the usage).");
ABSL_FLAG(std::string, message, "", "inject --error: the error's message.");
ABSL_FLAG(std::string, delay_us, "",
          "inject: delay the real answer (alone) or the retry's delay hint.");
ABSL_FLAG(std::string, out, "", "frames read: write the bytes to this file.");
ABSL_FLAG(std::string, pattern_seed, "",
          "frames write: fill frame f word w with pattern::Word(seed, f, w).");

namespace faultline::brokerctl {
namespace {

constexpr int kExitCallFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;

template <typename T>
absl::Status ParseOptional(const char* name, const std::string& text,
                           std::optional<T>* out) {
  if (text.empty()) return absl::OkStatus();
  int64_t value = 0;
  bool ok = false;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    uint64_t hex = 0;
    ok = absl::SimpleHexAtoi(text.substr(2), &hex);
    value = static_cast<int64_t>(hex);
  } else {
    ok = absl::SimpleAtoi(text, &value);
  }
  if (!ok || value < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, "=", text, " is not a non-negative number"));
  }
  *out = static_cast<T>(value);
  return absl::OkStatus();
}

absl::StatusOr<CommandOptions> ReadOptions() {
  CommandOptions o;
  o.json = absl::GetFlag(FLAGS_json);
  o.session = absl::GetFlag(FLAGS_session);
  o.retry = absl::GetFlag(FLAGS_retry);
  o.error = absl::GetFlag(FLAGS_error);
  o.message = absl::GetFlag(FLAGS_message);
  o.out = absl::GetFlag(FLAGS_out);
  for (absl::Status status : {
           ParseOptional("count", absl::GetFlag(FLAGS_count), &o.count),
           ParseOptional("offset", absl::GetFlag(FLAGS_offset), &o.offset),
           ParseOptional("region", absl::GetFlag(FLAGS_region), &o.region),
           ParseOptional("first", absl::GetFlag(FLAGS_first), &o.first),
           ParseOptional("last", absl::GetFlag(FLAGS_last), &o.last),
           ParseOptional("delay_us", absl::GetFlag(FLAGS_delay_us),
                         &o.delay_us),
           ParseOptional("pattern_seed", absl::GetFlag(FLAGS_pattern_seed),
                         &o.pattern_seed),
       }) {
    if (!status.ok()) return status;
  }
  return o;
}

int Run(int argc, char** argv) {
  absl::FlagsUsageConfig usage_config;
  // --help lists this file's flags (absl matches on the program name).
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "brokerctl/main.cc");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  // The reasons' and kinds' words come from the proto enums.
  absl::SetProgramUsageMessage(absl::StrCat(
      "inspect and steer a faultline broker.\n"
      "  brokerctl --broker=unix:PATH|HOST:PORT [--json] COMMAND\n"
      "commands:\n"
      "  sessions\n"
      "  stats [SESSION]\n"
      "  watch [SESSION] [--count=N]\n"
      "  put STORE FILE [--offset=N]\n"
      "  stores\n"
      "  delete STORE\n"
      "  inject --session=ID --region=N [--first=OFF --last=OFF] [--count=N]\n"
      "         (--retry=",
      v1::EnumWords<v1::RetryReason>("|"),
      " [--delay_us=N]\n"
      "          | --error=",
      v1::EnumWords<v1::ErrorKind>("|"),
      " [--message=...]\n"
      "          | --delay_us=N)\n"
      "  inject-clear [RULE]\n"
      "  pools\n"
      "  frames read POOL FIRST COUNT [--out=FILE]\n"
      "  frames write POOL FIRST (FILE | --pattern_seed=N --count=N)\n"
      "  revoke --session=ID --region=N --offset=OFF"));
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() < 2) {
    std::cerr << "brokerctl: no command; see --help\n";
    return kExitUsage;
  }
  const std::string name = positional[1];
  const std::map<std::string, absl::Status (*)(const Command&)> commands = {
      {"sessions", RunSessions}, {"stats", RunStats},
      {"watch", RunWatch},       {"put", RunPut},
      {"stores", RunStores},     {"delete", RunDelete},
      {"inject", RunInject},     {"inject-clear", RunInjectClear},
      {"pools", RunPools},       {"frames", RunFrames},
      {"revoke", RunRevoke},
  };
  auto command = commands.find(name);
  if (command == commands.end()) {
    std::cerr << "brokerctl: unknown command \"" << name << "\"; see --help\n";
    return kExitUsage;
  }
  absl::StatusOr<CommandOptions> options = ReadOptions();
  if (!options.ok()) {
    std::cerr << "brokerctl: " << options.status().message() << "\n";
    return kExitUsage;
  }
  std::vector<std::string> args(positional.begin() + 2, positional.end());
  auto client = BrokerClient::Connect(absl::GetFlag(FLAGS_broker),
                                      absl::GetFlag(FLAGS_timeout));
  if (!client.ok()) {
    std::cerr << "brokerctl: " << client.status().message() << "\n";
    return absl::IsInvalidArgument(client.status()) ? kExitUsage
                                                    : kExitUnreachable;
  }
  absl::Status status =
      command->second(Command{**client, args, *options, std::cout});
  if (!status.ok()) {
    std::cerr << "brokerctl " << name << ": " << status.message() << "\n";
    return absl::IsInvalidArgument(status) &&
                   status.message().find("broker at") == std::string::npos
               ? kExitUsage
               : kExitCallFailed;
  }
  return 0;
}

}  // namespace
}  // namespace faultline::brokerctl

int main(int argc, char** argv) {
  return faultline::brokerctl::Run(argc, argv);
}
