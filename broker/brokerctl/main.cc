// brokerctl: inspect and steer a running faultline broker.
//   brokerctl --broker=unix:PATH|HOST:PORT [--json] COMMAND [ARGS]
// Exit status: 0 done, 1 the broker refused or failed the call, 2 bad
// arguments, 3 the broker cannot be reached.
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
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
#include "proto/base/secret_file.h"
#include "proto/faultline/v1/enum_words.h"

ABSL_FLAG(std::string, broker, "unix:/tmp/faultline/broker.sock",
          "The broker: unix:PATH or HOST:PORT.");
ABSL_FLAG(std::string, admin_token_file, "",
          "Over TCP: a file (mode 0600) with the broker's admin token.");
ABSL_FLAG(std::string, tls_ca, "",
          "Over TCP: PEM of the CA of the broker's certificate (TLS).");
ABSL_FLAG(std::string, tls_server_name, "",
          "With --tls_ca: the name in the broker's certificate, when it is "
          "not the host in --broker.");
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
ABSL_FLAG(std::string, create_frames, "",
          "frames write: a shared pool that is neither live nor on file is "
          "created with this many frames (otherwise it is not found).");

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
           ParseOptional("create_frames", absl::GetFlag(FLAGS_create_frames),
                         &o.create_frames),
       }) {
    if (!status.ok()) return status;
  }
  return o;
}

absl::StatusOr<ClientCredentials> ReadCredentials() {
  ClientCredentials credentials;
  if (const std::string path = absl::GetFlag(FLAGS_admin_token_file);
      !path.empty()) {
    absl::StatusOr<std::string> token = ReadSecretFile(path);
    if (!token.ok()) {
      return absl::Status(
          token.status().code(),
          absl::StrCat("--admin_token_file: ", token.status().message()));
    }
    credentials.admin_token = *std::move(token);
  }
  if (const std::string path = absl::GetFlag(FLAGS_tls_ca); !path.empty()) {
    std::ifstream in(path);
    std::stringstream pem;
    pem << in.rdbuf();
    if (!in || pem.str().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls_ca=", path, " cannot be read"));
    }
    credentials.tls_ca_pem = pem.str();
  }
  credentials.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  return credentials;
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
      "            [--admin_token_file=PATH] [--tls_ca=PEM] (over TCP)\n"
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
      "               [--create_frames=N]\n"
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
  absl::StatusOr<ClientCredentials> credentials = ReadCredentials();
  if (!credentials.ok()) {
    std::cerr << "brokerctl: " << credentials.status().message() << "\n";
    return kExitUsage;
  }
  auto client = BrokerClient::Connect(
      absl::GetFlag(FLAGS_broker), absl::GetFlag(FLAGS_timeout), *credentials);
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
