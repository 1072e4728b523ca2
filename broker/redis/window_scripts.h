// The Lua scripts that read and write a page window (window_layout.h) in
// one atomic step on the node that holds it, and running them: EVALSHA, and
// EVAL with the body for a node that does not know the script yet (it
// restarted, or it is a replica promoted by a failover).
//
// Thread-safe: immutable after Load().
#ifndef FAULTLINE_BROKER_REDIS_WINDOW_SCRIPTS_H_
#define FAULTLINE_BROKER_REDIS_WINDOW_SCRIPTS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/redis/client.h"

namespace faultline::broker::redis {

enum class WindowScript {
  // ARGV: first page, page count, the caller's cached version ("" for none).
  // Reply: [] for no window, else [version, present, busy, data]: busy only
  // while its lease holds; data nil when the cached version is current.
  kRead,
  // ARGV: mask of pages, lease in ms. Marks them busy; replies the mask of
  // pages present before. A new window gets a header and no pages. A
  // window's marks share one lease, the latest, until none is left.
  kBeginWrite,
  // ARGV: first page, the pages' bytes, the new version, mask of the pages.
  // Stores them, marks them present and not busy, sets the version;
  // replies the mask of pages present before.
  kEndWrite,
  // ARGV: mask. Clears those busy marks (a put that failed).
  kClearBusy,
};

class WindowScripts {
 public:
  // Loads every script on every master (SCRIPT LOAD), learning their SHA1s.
  static absl::StatusOr<WindowScripts> Load(Client& client,
                                            const CallOptions& options);

  // EVALSHA of `script` on `key` with `args`.
  Command Make(WindowScript script, const std::string& key,
               std::vector<std::string> args, bool idempotent = true) const;
  // Runs `commands` (from Make); those a node answers NOSCRIPT go again as
  // EVAL with the body.
  std::vector<Result> Run(Client& client, std::vector<Command> commands,
                          const CallOptions& options) const;

 private:
  std::map<WindowScript, std::string> sha_;
  std::map<std::string, std::string> body_by_sha_;
};

}  // namespace faultline::broker::redis

#endif  // FAULTLINE_BROKER_REDIS_WINDOW_SCRIPTS_H_
