#include "broker/redis/window_scripts.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "broker/redis/window_layout.h"

namespace faultline::broker::redis {
namespace {

// The header, unpacked and packed ('<c16I4I4d': version, present, busy,
// busy_until); $0 is the header size, $1 the page size, $2 the window's
// pages, so the layout's numbers are written once, in window_layout.h.
constexpr char kPrelude[] = R"lua(
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local function unpack_header(header)
  if #header < $0 then return string.rep('\0', 16), 0, 0, 0, false end
  local version, present, busy, busy_until = struct.unpack('<c16I4I4d', header)
  return version, present, busy, busy_until, true
end
local function pack_header(version, present, busy, busy_until)
  return struct.pack('<c16I4I4d', version, present, busy, busy_until)
end
)lua";

constexpr char kRead[] = R"lua(
local version, present, busy, busy_until, exists =
    unpack_header(redis.call('GETRANGE', KEYS[1], 0, $0 - 1))
if not exists then return {} end
if busy ~= 0 and now_ms() >= busy_until then busy = 0 end
if version == ARGV[3] then return {version, present, busy, false} end
local first = tonumber(ARGV[1])
local data = redis.call('GETRANGE', KEYS[1], $0 + first * $1,
                        $0 + (first + tonumber(ARGV[2])) * $1 - 1)
return {version, present, busy, data}
)lua";

constexpr char kBeginWrite[] = R"lua(
local header = redis.call('GETRANGE', KEYS[1], 0, $0 - 1)
local version, present, busy, busy_until, exists = unpack_header(header)
local now = now_ms()
if now >= busy_until then busy = 0 end
busy = bit.bor(busy, tonumber(ARGV[1]))
busy_until = math.max(busy_until, now + tonumber(ARGV[2]))
local packed = pack_header(version, present, busy, busy_until)
if exists then
  redis.call('SETRANGE', KEYS[1], 0, packed)
else
  redis.call('SET', KEYS[1], packed)
end
return present
)lua";

// A window gets its whole size at its first pages: growing a string with
// SETRANGE would have Redis double its allocation.
constexpr char kEndWrite[] = R"lua(
local first, data, mask = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[4])
local length = redis.call('STRLEN', KEYS[1])
local version, present, busy, busy_until =
    unpack_header(redis.call('GETRANGE', KEYS[1], 0, $0 - 1))
busy = bit.band(busy, bit.bnot(mask))
if busy == 0 then busy_until = 0 end
local header = pack_header(ARGV[3], bit.bor(present, mask), busy, busy_until)
if length < $0 + $2 * $1 then
  local pages = #data / $1
  redis.call('SET', KEYS[1], header .. string.rep('\0', first * $1) .. data ..
             string.rep('\0', ($2 - first - pages) * $1))
else
  redis.call('SETRANGE', KEYS[1], $0 + first * $1, data)
  redis.call('SETRANGE', KEYS[1], 0, header)
end
return present
)lua";

constexpr char kClearBusy[] = R"lua(
local version, present, busy, busy_until, exists =
    unpack_header(redis.call('GETRANGE', KEYS[1], 0, $0 - 1))
if not exists then return 0 end
busy = bit.band(busy, bit.bnot(tonumber(ARGV[1])))
if busy == 0 then busy_until = 0 end
redis.call('SETRANGE', KEYS[1], 0, pack_header(version, present, busy,
                                               busy_until))
return 1
)lua";

std::string Body(WindowScript script) {
  const char* text = kRead;
  switch (script) {
    case WindowScript::kRead:
      text = kRead;
      break;
    case WindowScript::kBeginWrite:
      text = kBeginWrite;
      break;
    case WindowScript::kEndWrite:
      text = kEndWrite;
      break;
    case WindowScript::kClearBusy:
      text = kClearBusy;
      break;
  }
  return absl::Substitute(absl::StrCat(kPrelude, text), kHeaderBytes,
                          kPageBytes, kWindowPages);
}

}  // namespace

absl::StatusOr<WindowScripts> WindowScripts::Load(Client& client,
                                                  const CallOptions& options) {
  WindowScripts scripts;
  for (WindowScript script :
       {WindowScript::kRead, WindowScript::kBeginWrite, WindowScript::kEndWrite,
        WindowScript::kClearBusy}) {
    const std::string body = Body(script);
    for (const NodeAddress& master : client.Masters()) {
      Result loaded =
          client.ExecuteOn(master, {"SCRIPT", "LOAD", body}, options);
      if (!loaded.reply.ok()) return loaded.reply.status();
      if (loaded.reply->type != Reply::Type::kString) {
        return absl::InternalError(
            absl::StrCat("redis ", master.ToString(),
                         " refused a store script: ", loaded.reply->Summary()));
      }
      scripts.sha_[script] = loaded.reply->str;
    }
    scripts.body_by_sha_[scripts.sha_[script]] = body;
  }
  return scripts;
}

Command WindowScripts::Make(WindowScript script, const std::string& key,
                            std::vector<std::string> args,
                            bool idempotent) const {
  Command command;
  command.args = {"EVALSHA", sha_.at(script), "1", key};
  for (std::string& arg : args) command.args.push_back(std::move(arg));
  command.key_index = 3;
  command.idempotent = idempotent;
  return command;
}

std::vector<Result> WindowScripts::Run(Client& client,
                                       std::vector<Command> commands,
                                       const CallOptions& options) const {
  std::vector<Result> results = client.ExecuteBatch(commands, options);
  std::vector<Command> again;
  std::vector<size_t> again_index;
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].reply.ok() || !results[i].reply->IsErrorCode("NOSCRIPT")) {
      continue;
    }
    Command eval = std::move(commands[i]);
    eval.args[0] = "EVAL";
    eval.args[1] = body_by_sha_.at(eval.args[1]);
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

}  // namespace faultline::broker::redis
