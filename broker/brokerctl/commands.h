// brokerctl's commands. Each takes the connected client, the command's
// positional arguments and the parsed options, prints its result (a table,
// or JSON with --json) and returns a status: INVALID_ARGUMENT for bad
// arguments, the broker's status for a failed call.
#ifndef FAULTLINE_BROKER_BROKERCTL_COMMANDS_H_
#define FAULTLINE_BROKER_BROKERCTL_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "broker/brokerctl/client.h"

namespace faultline::brokerctl {

// Command options; unset ones are nullopt.
struct CommandOptions {
  bool json = false;
  std::optional<int64_t> count;
  std::optional<uint64_t> offset;
  std::string session;
  std::optional<uint32_t> region;
  std::optional<uint64_t> first;
  std::optional<uint64_t> last;
  std::string retry;
  std::string error;
  std::string message;
  std::optional<uint64_t> delay_us;
  std::string out;
  std::optional<uint64_t> pattern_seed;
};

struct Command {
  BrokerClient& client;
  const std::vector<std::string>& args;
  const CommandOptions& options;
  std::ostream& out;
};

absl::Status RunSessions(const Command& command);
absl::Status RunStats(const Command& command);
absl::Status RunPools(const Command& command);
absl::Status RunWatch(const Command& command);
absl::Status RunPut(const Command& command);
absl::Status RunStores(const Command& command);
absl::Status RunDelete(const Command& command);
absl::Status RunFrames(const Command& command);
absl::Status RunInject(const Command& command);
absl::Status RunInjectClear(const Command& command);
absl::Status RunRevoke(const Command& command);

// INVALID_ARGUMENT unless there are between min and max positionals.
absl::Status ExpectArgs(const Command& command, size_t min, size_t max,
                        const char* usage);
// A non-negative integer argument ("4096", "0x1000").
absl::StatusOr<uint64_t> ParseNumber(const std::string& what,
                                     const std::string& text);

}  // namespace faultline::brokerctl

#endif  // FAULTLINE_BROKER_BROKERCTL_COMMANDS_H_
