// The commands that read and write one page window (window_layout.h), each
// a MULTI ... EXEC on the node that holds it, so it is atomic there. Page
// bytes go by GETRANGE and SETRANGE; small Lua scripts change the header
// (Lua is slow with large strings). Scripts go as EVALSHA, and again as EVAL
// with the body when a node does not know them (it restarted, or it is a
// replica a failover promoted).
//
// Thread-safe: immutable after Load().
#ifndef FAULTLINE_BROKER_REDIS_WINDOW_COMMANDS_H_
#define FAULTLINE_BROKER_REDIS_WINDOW_COMMANDS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/redis/client.h"

namespace faultline::broker::redis {

class WindowCommands {
 public:
  // Loads the scripts on every master (SCRIPT LOAD), learning their SHA1s.
  static absl::StatusOr<WindowCommands> Load(Client& client,
                                             const CallOptions& options);

  // EXEC replies [header, pages (if `with_pages`), TIME]; the header is ""
  // for a window that does not exist.
  static Command Read(const std::string& key, uint32_t first, uint32_t count,
                      bool with_pages);
  // Marks `mask` busy until the server's clock passes now + `lease`, making
  // the window at full size if it is new. EXEC's last reply: the mask of
  // pages present before. A window's marks share one lease, the latest,
  // until none is left.
  Command Begin(const std::string& key, uint32_t mask,
                absl::Duration lease) const;
  // Stores `pages` from page `first`, marks them present and not busy, and
  // sets the window's version. EXEC's last reply: the mask of pages present
  // before.
  Command End(const std::string& key, uint32_t first, std::string pages,
              const std::string& version, uint32_t mask) const;
  // Clears busy marks of a write that will not end.
  Command ClearBusy(const std::string& key, uint32_t mask) const;

  // Runs `commands`; those a node answered NOSCRIPT go again with EVAL.
  std::vector<Result> Run(Client& client, std::vector<Command> commands,
                          const CallOptions& options) const;

 private:
  enum class Script { kBegin, kEnd, kClearBusy };
  std::vector<std::string> Eval(Script script, const std::string& key,
                                std::vector<std::string> args) const;

  std::map<Script, std::string> sha_;
  std::map<std::string, std::string> body_by_sha_;
};

// The integer a Begin or End reply ends with (EXEC's last element), or
// UNAVAILABLE naming the node and what it said.
absl::StatusOr<long long> LastInteger(const Result& result);

}  // namespace faultline::broker::redis

#endif  // FAULTLINE_BROKER_REDIS_WINDOW_COMMANDS_H_
