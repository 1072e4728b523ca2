#include "broker/redis/window_commands.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "broker/redis/window_layout.h"

namespace faultline::broker::redis {
namespace {

// The header, unpacked and packed ('<c16I4I4d': version, present, busy,
// busy_until); $0 is its size, the one number the scripts need.
constexpr char kPrelude[] = R"lua(
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local function read_header()
  return struct.unpack('<c16I4I4d', redis.call('GETRANGE', KEYS[1], 0, $0 - 1))
end
local function write_header(version, present, busy, busy_until)
  if busy == 0 then busy_until = 0 end
  redis.call('SETRANGE', KEYS[1], 0,
             struct.pack('<c16I4I4d', version, present, busy, busy_until))
end
)lua";

// ARGV: mask, lease in ms.
constexpr char kBegin[] = R"lua(
local version, present, busy, busy_until = read_header()
local now = now_ms()
if now >= busy_until then busy = 0 end
write_header(version, present, bit.bor(busy, tonumber(ARGV[1])),
             math.max(busy_until, now + tonumber(ARGV[2])))
return present
)lua";

// ARGV: mask, version.
constexpr char kEnd[] = R"lua(
local version, present, busy, busy_until = read_header()
local mask = tonumber(ARGV[1])
write_header(ARGV[2], bit.bor(present, mask), bit.band(busy, bit.bnot(mask)),
             busy_until)
return present
)lua";

// ARGV: mask.
constexpr char kClearBusy[] = R"lua(
if redis.call('STRLEN', KEYS[1]) < $0 then return 0 end
local version, present, busy, busy_until = read_header()
write_header(version, present, bit.band(busy, bit.bnot(tonumber(ARGV[1]))),
             busy_until)
return 1
)lua";

std::vector<std::string> PadStep(const std::string& key) {
  return {"SETRANGE", key, absl::StrCat(kPadOffset), std::string(1, '\0')};
}

}  // namespace

absl::StatusOr<WindowCommands> WindowCommands::Load(
    Client& client, const CallOptions& options) {
  WindowCommands commands;
  for (const auto& [script, text] :
       {std::pair{Script::kBegin, kBegin}, std::pair{Script::kEnd, kEnd},
        std::pair{Script::kClearBusy, kClearBusy}}) {
    const std::string body =
        absl::Substitute(absl::StrCat(kPrelude, text), kHeaderBytes);
    std::vector<NodeCommand> loads;
    for (const NodeAddress& master : client.Masters()) {
      loads.push_back(NodeCommand{master, {"SCRIPT", "LOAD", body}});
    }
    for (const Result& loaded : client.ExecuteOn(loads, options)) {
      if (!loaded.reply.ok()) return loaded.reply.status();
      if (loaded.reply->type != Reply::Type::kString) {
        return absl::InternalError(
            absl::StrCat("redis ", loaded.node.ToString(),
                         " refused a store script: ", loaded.reply->Summary()));
      }
      commands.sha_[script] = loaded.reply->str;
    }
    commands.body_by_sha_[commands.sha_[script]] = body;
  }
  return commands;
}

std::vector<std::string> WindowCommands::Eval(
    Script script, const std::string& key,
    std::vector<std::string> args) const {
  std::vector<std::string> step = {"EVALSHA", sha_.at(script), "1", key};
  for (std::string& arg : args) step.push_back(std::move(arg));
  return step;
}

Command WindowCommands::Read(const std::string& key, uint32_t first,
                             uint32_t count, bool with_pages) {
  Command command;
  command.transaction.push_back(
      {"GETRANGE", key, "0", absl::StrCat(kHeaderBytes - 1)});
  if (with_pages) {
    command.transaction.push_back(
        {"GETRANGE", key, absl::StrCat(kHeaderBytes + first * kPageBytes),
         absl::StrCat(kHeaderBytes + (first + count) * kPageBytes - 1)});
  }
  command.transaction.push_back({"TIME"});
  return command;
}

Command WindowCommands::Begin(const std::string& key, uint32_t mask,
                              absl::Duration lease) const {
  Command command;
  command.transaction = {
      PadStep(key), Eval(Script::kBegin, key,
                         {absl::StrCat(mask),
                          absl::StrCat(absl::ToInt64Milliseconds(lease))})};
  return command;
}

Command WindowCommands::End(const std::string& key, uint32_t first,
                            std::string pages, const std::string& version,
                            uint32_t mask) const {
  Command command;
  command.transaction = {
      PadStep(key),
      {"SETRANGE", key, absl::StrCat(kHeaderBytes + first * kPageBytes),
       std::move(pages)},
      Eval(Script::kEnd, key, {absl::StrCat(mask), version})};
  return command;
}

Command WindowCommands::ClearBusy(const std::string& key, uint32_t mask) const {
  Command command;
  command.args = Eval(Script::kClearBusy, key, {absl::StrCat(mask)});
  command.key_index = 3;
  return command;
}

std::vector<Result> WindowCommands::Run(Client& client,
                                        std::vector<Command> commands,
                                        const CallOptions& options) const {
  std::vector<Result> results = client.ExecuteBatch(commands, options);
  std::vector<Command> again;
  std::vector<size_t> again_index;
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].reply.ok()) continue;
    const Reply& reply = *results[i].reply;
    bool unknown = reply.IsErrorCode("NOSCRIPT");
    for (const Reply& element : reply.elements) {
      unknown = unknown || element.IsErrorCode("NOSCRIPT");
    }
    if (!unknown) continue;
    // Every step is safe to run again: the same bytes, the same header.
    Command eval = std::move(commands[i]);
    auto to_eval = [this](std::vector<std::string>& step) {
      if (step.size() < 2 || step[0] != "EVALSHA") return;
      step[0] = "EVAL";
      step[1] = body_by_sha_.at(step[1]);
    };
    to_eval(eval.args);
    for (auto& step : eval.transaction) to_eval(step);
    again.push_back(std::move(eval));
    again_index.push_back(i);
  }
  if (again.empty()) return results;
  std::vector<Result> retried = client.ExecuteBatch(again, options);
  for (size_t k = 0; k < again.size(); ++k) {
    results[again_index[k]] = std::move(retried[k]);
  }
  return results;
}

absl::StatusOr<long long> LastInteger(const Result& result) {
  if (!result.reply.ok()) return result.reply.status();
  const Reply* reply = &*result.reply;
  if (reply->type == Reply::Type::kArray && !reply->elements.empty()) {
    reply = &reply->elements.back();
  }
  if (reply->type != Reply::Type::kInteger) {
    return absl::UnavailableError(
        absl::StrCat("redis ", result.node.ToString(), ": ", reply->Summary()));
  }
  return reply->integer;
}

}  // namespace faultline::broker::redis
